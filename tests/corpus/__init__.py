"""A labelled detection corpus built at run time from a seed: secrets and hard negatives."""

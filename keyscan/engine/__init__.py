"""Stage 1 engines (keyword search) and stage 2 extraction."""

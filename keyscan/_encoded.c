/* Where base64 or hex of text may end: the C build of keyscan.decoders.markers' encoded-text
 * markers.
 *
 * In hyperscan these markers, class-only patterns with no literal to anchor on, took most of
 * stage 1's time: a 440-keyword database ran at 1,230 MB/s without the base64 one and 313 MB/s
 * with it on sqlalchemy's tree; the hex one alone still cost a quarter of the database's speed.
 * Here both are one scan of a byte table that passes over short words whole. Both markers end
 * where a run of base64 characters ends, so a run that holds either gives the ends hyperscan
 * reports for it (tests/test_engine.py compares the two on random data). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The bits of a byte's entry in the class table keyscan.decoders.markers builds: a base64
 * character, the classes of a base64 group's first three characters, and for hex a first digit
 * of 2-7, any hex digit, a first digit 0, and the second digit of a tab, line feed or
 * carriage return. */
#define IN_RUN 1
#define FIRST_OK 2
#define SECOND_OK 4
#define THIRD_OK 8
#define HEX_HIGH 16
#define HEX_DIGIT 32
#define HEX_ZERO 64
#define HEX_CONTROL 128

static int
group_passes(const unsigned char *data, Py_ssize_t at, const unsigned char *classes)
{
    return (classes[data[at]] & FIRST_OK) && (classes[data[at + 1]] & SECOND_OK) &&
           (classes[data[at + 2]] & THIRD_OK);
}

static int
pair_passes(const unsigned char *data, Py_ssize_t at, const unsigned char *classes)
{
    unsigned char first = classes[data[at]], second = classes[data[at + 1]];
    return ((first & HEX_HIGH) && (second & HEX_DIGIT)) ||
           ((first & HEX_ZERO) && (second & HEX_CONTROL));
}

/* Whether the run data[start:end] holds `count` consecutive units (`width` characters each,
 * all inside the run) that pass, at any alignment. Each window of `count` units is read from
 * its last unit back: in base64 of binary data (a notebook's images) a unit passes about one
 * time in ten, so one failing unit passes over the window, and a unit already seen to pass is
 * never read again. Reading every offset in turn made this a third of a notebook's stage 1. */
static int
holds_units(const unsigned char *data, Py_ssize_t start, Py_ssize_t end,
            const unsigned char *classes, Py_ssize_t count, Py_ssize_t width,
            int (*passes)(const unsigned char *, Py_ssize_t, const unsigned char *))
{
    for (Py_ssize_t phase = 0; phase < width; phase++) {
        Py_ssize_t first = start + phase; /* the window's first unit */
        Py_ssize_t known = first;         /* units from `first` up to here are known to pass */
        while (first + width * count <= end) {
            Py_ssize_t probe = first + width * (count - 1);
            Py_ssize_t last = probe;
            while (probe >= known && passes(data, probe, classes)) {
                probe -= width;
            }
            if (probe < known) {
                return 1;
            }
            first = probe + width;
            known = last + width;
        }
    }
    return 0;
}

/* Whether the run data[start:end] holds `groups` consecutive 4-character groups, at any
 * alignment, whose first three characters each pass their class. */
static int
holds_groups(const unsigned char *data, Py_ssize_t start, Py_ssize_t end,
             const unsigned char *classes, Py_ssize_t groups)
{
    return holds_units(data, start, end, classes, groups, 4, group_passes);
}

/* Whether the run data[start:end] holds `pairs` consecutive 2-digit bytes of text, at any
 * alignment. */
static int
holds_pairs(const unsigned char *data, Py_ssize_t start, Py_ssize_t end,
            const unsigned char *classes, Py_ssize_t pairs)
{
    return holds_units(data, start, end, classes, pairs, 2, pair_passes);
}

static int
append_offset(PyObject *list, Py_ssize_t offset)
{
    PyObject *item = PyLong_FromSsize_t(offset);
    if (item == NULL) {
        return -1;
    }
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed;
}

/* Appends where the marker ends for the run that ends at `at`: with the byte after the run, or
 * at the end of the data, which a regex `$` also finds before a final newline. */
static int
append_ends(PyObject *ends, const unsigned char *data, Py_ssize_t at, Py_ssize_t size)
{
    if (at < size && append_offset(ends, at + 1) < 0) {
        return -1;
    }
    if (at == size || (at == size - 1 && data[at] == '\n')) {
        return append_offset(ends, at);
    }
    return 0;
}

static PyObject *
encoded_text_ends(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4 || !PyBytes_Check(args[0]) || PyBytes_GET_SIZE(args[0]) != 256 ||
        !PyLong_Check(args[1]) || !PyLong_Check(args[2]) || !PyBytes_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "encoded_text_ends(classes: bytes of 256, groups: "
                                         "int, pairs: int, data: bytes)");
        return NULL;
    }
    Py_ssize_t groups = PyLong_AsSsize_t(args[1]);
    Py_ssize_t pairs = PyLong_AsSsize_t(args[2]);
    if (groups < 1 || groups > PY_SSIZE_T_MAX / 4 || pairs < 1 || pairs > PY_SSIZE_T_MAX / 2) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "groups and pairs must be at least 1");
        }
        return NULL;
    }
    const unsigned char *classes = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(args[3]);
    Py_ssize_t size = PyBytes_GET_SIZE(args[3]);
    Py_ssize_t base64_shortest = 4 * groups, hex_shortest = 2 * pairs;
    Py_ssize_t shortest = base64_shortest < hex_shortest ? base64_shortest : hex_shortest;
    PyObject *ends = PyList_New(0);
    if (ends == NULL) {
        return NULL;
    }
    /* Only runs of `shortest` characters or more matter, and most of a source file is short
     * words: each window of that length is read from its far end back, so one character that
     * is not in a run passes over the whole window, and no byte is read twice. */
    Py_ssize_t at = 0;    /* where a run may start: 0, or just after a byte not in one */
    Py_ssize_t known = 0; /* data[at:known] is all run characters */
    while (at + shortest <= size) {
        Py_ssize_t probe = at + shortest - 1;
        while (probe >= known && (classes[data[probe]] & IN_RUN)) {
            probe--;
        }
        if (probe >= known) {
            known = at + shortest;
            at = probe + 1;
            continue;
        }
        Py_ssize_t start = at;
        at += shortest;
        while (at < size && (classes[data[at]] & IN_RUN)) {
            at++;
        }
        int marked = (at - start >= base64_shortest &&
                      holds_groups(data, start, at, classes, groups)) ||
                     (at - start >= hex_shortest && holds_pairs(data, start, at, classes, pairs));
        if (marked && append_ends(ends, data, at, size) < 0) {
            Py_DECREF(ends);
            return NULL;
        }
        at++;
        known = at;
    }
    return ends;
}

static PyMethodDef methods[] = {
    {"encoded_text_ends", (PyCFunction)(void (*)(void))encoded_text_ends, METH_FASTCALL,
     "Where each run that may be base64 or hex of text ends (keyscan.decoders.markers)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_encoded",
    .m_doc = "The C build of keyscan.decoders.markers' encoded-text markers.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__encoded(void)
{
    return PyModule_Create(&module);
}

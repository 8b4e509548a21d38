/* Unchanged copies between two versions of a file, and the regions left to scan: the C build
 * of keyscan.edits' python_matched_segments and python_changed_regions. It follows the same
 * steps with the same constants, so both give the same answers (tests/test_edits.py checks that
 * on random edits); only the loops run in C, where a history audit otherwise spent a fifth of
 * its time. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* keyscan/edits.py holds the reasons for each of these. */
#define ANCHOR 64
#define MIN_ANCHOR 16
#define SEARCH_WINDOW (16 * 1024)
#define SEARCH_FACTOR 8
#define FIRST_JUMP 256
#define STEPS_BASE 32
#define BYTES_PER_STEP 1024

/* memcmp compares a block many bytes at a time: blocks first, then the bytes of the one that
 * differs. */
#define BLOCK 256

static Py_ssize_t
common_prefix(const char *old, const char *new, Py_ssize_t limit)
{
    Py_ssize_t done = 0;
    while (done + BLOCK <= limit && memcmp(old + done, new + done, BLOCK) == 0) {
        done += BLOCK;
    }
    while (done < limit && old[done] == new[done]) {
        done++;
    }
    return done;
}

static Py_ssize_t
common_suffix(const char *old_end, const char *new_end, Py_ssize_t limit)
{
    Py_ssize_t done = 0;
    while (done + BLOCK <= limit &&
           memcmp(old_end - done - BLOCK, new_end - done - BLOCK, BLOCK) == 0) {
        done += BLOCK;
    }
    while (done < limit && old_end[-1 - done] == new_end[-1 - done]) {
        done++;
    }
    return done;
}

/* bytes.find(needle, start, stop) of a non-empty needle. */
static Py_ssize_t
find(const char *data, Py_ssize_t start, Py_ssize_t stop, const char *needle, Py_ssize_t size)
{
    if (stop - start < size) {
        return -1;
    }
#if defined(__GLIBC__) || defined(__APPLE__) || defined(__FreeBSD__)
    const char *found = memmem(data + start, (size_t)(stop - start), needle, (size_t)size);
    return found == NULL ? -1 : found - data;
#else
    /* Where there is no memmem: each place the first byte occurs, compared whole. */
    const char *last = data + stop - size;
    for (const char *at = data + start; at <= last; at++) {
        at = memchr(at, needle[0], (size_t)(last - at) + 1);
        if (at == NULL) {
            return -1;
        }
        if (memcmp(at, needle, (size_t)size) == 0) {
            return at - data;
        }
    }
    return -1;
#endif
}

/* keyscan.edits._next_line. */
static Py_ssize_t
next_line(const char *data, Py_ssize_t at, Py_ssize_t stop)
{
    if (at >= stop) {
        return -1;
    }
    const char *newline = memchr(data + at, '\n', (size_t)(stop - at));
    if (newline == NULL) {
        return -1;
    }
    Py_ssize_t end = newline - data;
    return end + 1 + MIN_ANCHOR > stop ? -1 : end + 1;
}

/* Appends a tuple Py_BuildValue just made (NULL if that failed) to `list`, and lets it go. */
static int
append_new(PyObject *list, PyObject *item)
{
    if (item == NULL) {
        return -1;
    }
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed;
}

static PyObject *
matched_segments(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs < 2 || nargs > 3 || !PyBytes_Check(args[0]) || !PyBytes_Check(args[1]) ||
        (nargs == 3 && !PyLong_Check(args[2]))) {
        PyErr_SetString(PyExc_TypeError,
                        "matched_segments(old: bytes, new: bytes, give_up_above: int = -1)");
        return NULL;
    }
    Py_ssize_t give_up_above = nargs == 3 ? PyLong_AsSsize_t(args[2]) : -1;
    if (give_up_above == -1 && PyErr_Occurred()) {
        return NULL;
    }
    const char *old = PyBytes_AS_STRING(args[0]);
    const char *new = PyBytes_AS_STRING(args[1]);
    Py_ssize_t old_len = PyBytes_GET_SIZE(args[0]);
    Py_ssize_t new_len = PyBytes_GET_SIZE(args[1]);

    Py_ssize_t shorter = old_len < new_len ? old_len : new_len;
    Py_ssize_t head = common_prefix(old, new, shorter);
    Py_ssize_t tail = common_suffix(old + old_len, new + new_len, shorter - head);
    Py_ssize_t new_stop = new_len - tail, old_stop = old_len - tail;

    PyObject *segments = PyList_New(0);
    if (segments == NULL || append_new(segments, Py_BuildValue("(nnn)", (Py_ssize_t)-1, head, (Py_ssize_t)-1)) < 0) {
        goto failed;
    }
    /* keyscan.edits._resynchronised */
    Py_ssize_t new_at = head, old_at = head;
    Py_ssize_t allowance = SEARCH_FACTOR * new_len;
    Py_ssize_t steps = STEPS_BASE + new_len / BYTES_PER_STEP;
    Py_ssize_t jump = 0;
    Py_ssize_t copied = new_at;
    while (allowance > 0 && steps > 0) {
        if (give_up_above >= 0 && new_at - copied > give_up_above) {
            goto hopeless;
        }
        steps--;
        Py_ssize_t new_line = next_line(new, new_at + jump, new_stop);
        Py_ssize_t old_line = next_line(old, old_at + jump, old_stop);
        if (new_line < 0 || old_line < 0) {
            break;
        }
        Py_ssize_t limit = old_stop < old_at + SEARCH_WINDOW ? old_stop : old_at + SEARCH_WINDOW;
        Py_ssize_t anchor = new_len - new_line < ANCHOR ? new_len - new_line : ANCHOR;
        Py_ssize_t in_old = find(old, old_at, limit, new + new_line, anchor);
        allowance -= (in_old == -1 ? limit : in_old) - old_at;
        limit = new_stop < new_at + SEARCH_WINDOW ? new_stop : new_at + SEARCH_WINDOW;
        anchor = old_len - old_line < ANCHOR ? old_len - old_line : ANCHOR;
        Py_ssize_t in_new = find(new, new_at, limit, old + old_line, anchor);
        allowance -= (in_new == -1 ? limit : in_new) - new_at;
        if (in_old == -1 && in_new == -1) {
            new_at = new_line;
            old_at = old_line;
            jump = jump ? 2 * jump : FIRST_JUMP;
            continue;
        }
        jump = 0;
        Py_ssize_t new_from, old_from;
        if (in_new == -1 || (in_old != -1 && in_old - old_at < in_new - new_at)) {
            new_from = new_line;
            old_from = in_old;
        } else {
            new_from = in_new;
            old_from = old_line;
        }
        Py_ssize_t room_old = old_stop - old_from, room_new = new_stop - new_from;
        Py_ssize_t length = common_prefix(
            old + old_from, new + new_from, room_old < room_new ? room_old : room_new);
        PyObject *segment = Py_BuildValue("(nnn)", new_from, new_from + length, old_from);
        if (append_new(segments, segment) < 0) {
            goto failed;
        }
        copied += length;
        new_at = new_from + length;
        old_at = old_from + length;
    }
    if (give_up_above >= 0 && new_stop - copied > give_up_above) {
        goto hopeless;
    }
    if (append_new(segments, Py_BuildValue("(nnn)", new_stop, new_len + 1, old_stop)) < 0) {
        goto failed;
    }
    return segments;

hopeless:
    Py_DECREF(segments);
    Py_RETURN_NONE;

failed:
    Py_XDECREF(segments);
    return NULL;
}

/* keyscan.edits._line_start: just after the last newline before `offset`, or 0. */
static Py_ssize_t
line_start(const char *data, Py_ssize_t size, Py_ssize_t offset)
{
    if (offset > size) {
        offset = size;
    }
    if (offset < 0) {
        return 0;
    }
    while (offset > 0 && data[offset - 1] != '\n') {
        offset--;
    }
    return offset;
}

/* keyscan.edits._line_end: the newline ending the line that holds `offset`, or the end. */
static Py_ssize_t
line_end(const char *data, Py_ssize_t size, Py_ssize_t offset)
{
    if (offset >= size) {
        return size;
    }
    if (offset < 0) {
        offset = 0;
    }
    const char *newline = memchr(data + offset, '\n', (size_t)(size - offset));
    return newline == NULL ? size : newline - data;
}

static int
segment_at(PyObject *segments, Py_ssize_t index, Py_ssize_t *start, Py_ssize_t *end)
{
    PyObject *segment = PyList_GET_ITEM(segments, index);
    if (!PyTuple_Check(segment) || PyTuple_GET_SIZE(segment) != 3) {
        PyErr_SetString(PyExc_TypeError, "segments must be (start, end, old_start) tuples");
        return -1;
    }
    *start = PyLong_AsSsize_t(PyTuple_GET_ITEM(segment, 0));
    *end = PyLong_AsSsize_t(PyTuple_GET_ITEM(segment, 1));
    return PyErr_Occurred() ? -1 : 0;
}

/* The whole lines holding the context of every line whose context a gap touches: from the
 * line before the first line whose reach runs into the gap, to the reach after the line that
 * follows the gap's last line. */
static void
gap_region(const char *new, Py_ssize_t size, Py_ssize_t gap_start, Py_ssize_t gap_end,
           Py_ssize_t reach, Py_ssize_t *start, Py_ssize_t *end)
{
    Py_ssize_t first = line_start(new, size, gap_start - reach > 0 ? gap_start - reach : 0);
    Py_ssize_t last_end = line_end(new, size, line_end(new, size, gap_end) + 1);
    Py_ssize_t far = last_end + reach < size ? last_end + reach : size;
    *start = first ? line_start(new, size, first - 1) : 0;
    *end = line_end(new, size, far) + 1;
    if (*end > size) {
        *end = size;
    }
}

static PyObject *
changed_regions(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 4 || !PyBytes_Check(args[0]) || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "changed_regions(new: bytes, segments: list, reach: int, join_gap: int)");
        return NULL;
    }
    const char *new = PyBytes_AS_STRING(args[0]);
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    Py_ssize_t reach = PyLong_AsSsize_t(args[2]);
    Py_ssize_t join_gap = PyLong_AsSsize_t(args[3]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (reach < 0 || join_gap < 0) {
        PyErr_SetString(PyExc_ValueError, "reach and join_gap must not be negative");
        return NULL;
    }
    PyObject *segments = args[1];
    Py_ssize_t count = PyList_GET_SIZE(segments);
    PyObject *regions = PyList_New(0);
    if (regions == NULL) {
        return NULL;
    }
    /* Gaps between copies, those nearer each other than join_gap taken together. Each gap,
     * once complete, becomes a region or joins the one before; a region is appended once the
     * next one no longer touches it. */
    Py_ssize_t gap_start = 0, gap_end = 0, region_start = 0, region_end = 0;
    Py_ssize_t copy_start, copy_end;
    int have_gap = 0, have_region = 0;
    if (count > 0 && segment_at(segments, 0, &copy_start, &copy_end) < 0) {
        goto failed;
    }
    for (Py_ssize_t index = 1; index <= count; index++) {
        Py_ssize_t next_start = 0, next_end = 0;
        if (index < count) {
            if (segment_at(segments, index, &next_start, &next_end) < 0) {
                goto failed;
            }
            if (have_gap && copy_end - gap_end <= join_gap) {
                gap_end = next_start;
                copy_end = next_end;
                continue;
            }
        }
        if (have_gap) {
            Py_ssize_t start, end;
            gap_region(new, size, gap_start, gap_end, reach, &start, &end);
            if (have_region && start <= region_end) {
                region_end = end > region_end ? end : region_end;
            } else {
                if (have_region &&
                    append_new(regions, Py_BuildValue("(nn)", region_start, region_end)) < 0) {
                    goto failed;
                }
                region_start = start;
                region_end = end;
                have_region = 1;
            }
        }
        if (index == count) {
            break;
        }
        gap_start = copy_end;
        gap_end = next_start;
        copy_end = next_end;
        have_gap = 1;
    }
    if (have_region && append_new(regions, Py_BuildValue("(nn)", region_start, region_end)) < 0) {
        goto failed;
    }
    return regions;

failed:
    Py_DECREF(regions);
    return NULL;
}

static PyMethodDef methods[] = {
    {"matched_segments", (PyCFunction)(void (*)(void))matched_segments, METH_FASTCALL,
     "Ranges of new that are unchanged copies of bytes of old (keyscan.edits)."},
    {"changed_regions", (PyCFunction)(void (*)(void))changed_regions, METH_FASTCALL,
     "Ranges of whole lines of new around what the copies leave out (keyscan.edits)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_segments",
    "The C build of keyscan.edits' search for unchanged copies.", -1, methods,
};

PyMODINIT_FUNC
PyInit__segments(void)
{
    return PyModule_Create(&module);
}

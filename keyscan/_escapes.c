/* Where a line of string literals may be other than inert to the escape decoder: the C build of
 * keyscan.decoders.encodings' python_lively_places.
 *
 * The escape decoder passes over every line whose literals hold nothing their decoding could
 * show stage 1 or a decoder (encodings._inert). Asked line by line, that took a dozen searches
 * and calls for each line with a `\"` (most lines of a translation catalogue, a notebook, a
 * bundle of escaped JSON); three regex passes over the whole data cost as much again. Here one
 * pass of memchr per kind of place gives every offset where one may start. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static int
is_base64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static int
is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int
append_offset(PyObject *list, Py_ssize_t offset)
{
    PyObject *number = PyLong_FromSsize_t(offset);
    if (number == NULL) {
        return -1;
    }
    int failed = PyList_Append(list, number);
    Py_DECREF(number);
    return failed;
}

/* lively_places(data, begin, run): offsets from `begin` on where `\` is followed by anything but
 * `"`, `n`, `t` or `r`, or by one of `n`, `t`, `r` and `run` base64 characters; where a percent
 * escape (`%` and two hex digits) or "Secret" starts. Unsorted: one kind after the other. */
static PyObject *
lively_places(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyBytes_Check(args[0]) || !PyLong_Check(args[1]) ||
        !PyLong_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "lively_places(data: bytes, begin: int, run: int)");
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t size = PyBytes_GET_SIZE(args[0]);
    Py_ssize_t begin = PyLong_AsSsize_t(args[1]);
    Py_ssize_t run = PyLong_AsSsize_t(args[2]);
    if ((begin == -1 || run == -1) && PyErr_Occurred()) {
        return NULL;
    }
    if (begin < 0 || run < 0) {
        PyErr_SetString(PyExc_ValueError, "begin and run must not be negative");
        return NULL;
    }
    PyObject *places = PyList_New(0);
    if (places == NULL) {
        return NULL;
    }
    const unsigned char *end = data + size;
    for (const unsigned char *at = data + (begin < size ? begin : size); at < end; at++) {
        at = memchr(at, '\\', (size_t)(end - at));
        if (at == NULL || at + 1 >= end) {
            break;
        }
        unsigned char next = at[1];
        int lively = next != '"' && next != 'n' && next != 't' && next != 'r';
        if (!lively && next != '"' && end - (at + 2) >= run) {
            lively = 1;
            for (Py_ssize_t index = 0; index < run; index++) {
                if (!is_base64(at[2 + index])) {
                    lively = 0;
                    break;
                }
            }
        }
        if (lively && append_offset(places, at - data) < 0) {
            goto failed;
        }
    }
    for (const unsigned char *at = data + (begin < size ? begin : size); at < end; at++) {
        at = memchr(at, '%', (size_t)(end - at));
        if (at == NULL || at + 2 >= end) {
            break;
        }
        if (is_hex(at[1]) && is_hex(at[2]) && append_offset(places, at - data) < 0) {
            goto failed;
        }
    }
    static const char secret[] = "Secret";
    const Py_ssize_t secret_size = (Py_ssize_t)(sizeof(secret) - 1);
    for (const unsigned char *at = data + (begin < size ? begin : size); end - at >= secret_size;
         at++) {
        at = memchr(at, 'S', (size_t)(end - at - secret_size + 1));
        if (at == NULL) {
            break;
        }
        if (memcmp(at, secret, (size_t)secret_size) == 0 && append_offset(places, at - data) < 0) {
            goto failed;
        }
    }
    return places;

failed:
    Py_DECREF(places);
    return NULL;
}

static PyMethodDef methods[] = {
    {"lively_places", (PyCFunction)(void (*)(void))lively_places, METH_FASTCALL,
     "Where a line of string literals may be other than inert (keyscan.decoders.encodings)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_escapes",
    .m_doc = "The C build of keyscan.decoders.encodings' python_lively_places.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__escapes(void)
{
    return PyModule_Create(&module);
}

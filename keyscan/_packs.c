/* Git pack files read in-process: an object's bytes straight from the pack, its delta chain
 * applied here, with no `git cat-file` process and no pipe between it and the scan. A history
 * audit's workers spent a fifth of their CPU in cat-file and in reading its pipe
 * (docs/benchmarks.md). keyscan.sources.packs wraps this; anything it cannot read (a pack
 * format it does not know, a damaged entry, an object in no pack) is asked of cat-file there,
 * so git stays the judge of what an object is.
 *
 * Pack and index layout: git's Documentation/gitformat-pack.txt (index version 2 only; version
 * 1 indexes and SHA-256 repositories are left to cat-file). Every length and offset read from
 * the files is checked against the mapping before use: a damaged pack is a ValueError, never a
 * read out of bounds. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define OID_SIZE 20
#define IDX_HEADER 8
#define FANOUT_SIZE (256 * 4)
#define PACK_HEADER 12
#define TRAILER (2 * OID_SIZE)

enum { OBJ_COMMIT = 1, OBJ_TREE = 2, OBJ_BLOB = 3, OBJ_TAG = 4, OBJ_OFS_DELTA = 6, OBJ_REF_DELTA = 7 };

/* Deeper chains than git ever writes (its default limit is 50; --depth is capped at 4095) mean
 * a damaged or hostile pack, and a cycle of ref-deltas would otherwise never end. */
#define MAX_CHAIN 10000
/* Bases of recent reads, looked up by their pack offset: objects come in path order, so
 * consecutive ones share delta bases, as in git's own delta-base cache. */
#define CACHE_SLOTS 1024
/* The pack's pages a reader has read are let go from its mapping each time it has inflated this
 * much (the default of the release_every option) since the last time: they stay in the
 * kernel's page cache, and reading them again costs a minor fault. Kept mapped, the whole pack
 * ended up resident in every worker (sphinx: 103 MB of a 251 MB tree PSS). */
#define RELEASE_EVERY (32 << 20)
/* Larger than any object or delta can be: a size past it in an entry header is damage. */
#define MAX_OBJECT_SIZE (PY_SSIZE_T_MAX / 2)

typedef struct CacheEntry {
    Py_ssize_t offset; /* 0: empty (no entry starts inside the pack header) */
    int type;
    PyObject *data;
    struct CacheEntry *newer, *older;
} CacheEntry;

typedef struct {
    PyObject_HEAD
    const unsigned char *pack;
    size_t pack_size;
    const unsigned char *idx;
    size_t idx_size;
    uint32_t count;
    const unsigned char *names;
    const unsigned char *offsets32;
    const unsigned char *offsets64;
    size_t count64;
    CacheEntry slots[CACHE_SLOTS];
    CacheEntry *newest, *oldest;
    Py_ssize_t cached_bytes, cache_limit;
    z_stream inflater;
    int inflater_ready;
    size_t inflated_since_release, release_every; /* compressed bytes */
} Pack;

static uint32_t
be32(const unsigned char *at)
{
    return ((uint32_t)at[0] << 24) | ((uint32_t)at[1] << 16) | ((uint32_t)at[2] << 8) | at[3];
}

static int
map_file(const char *path, const unsigned char **data, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        return -1;
    }
    struct stat info;
    if (fstat(fd, &info) < 0) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        close(fd);
        return -1;
    }
    if (info.st_size <= 0) {
        close(fd);
        PyErr_Format(PyExc_ValueError, "%s: empty file", path);
        return -1;
    }
    void *mapped = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (mapped == MAP_FAILED) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
        return -1;
    }
    *data = mapped;
    *size = (size_t)info.st_size;
    return 0;
}

static void
cache_unlink(Pack *self, CacheEntry *entry)
{
    if (entry->newer) {
        entry->newer->older = entry->older;
    } else {
        self->newest = entry->older;
    }
    if (entry->older) {
        entry->older->newer = entry->newer;
    } else {
        self->oldest = entry->newer;
    }
    entry->newer = entry->older = NULL;
}

static void
cache_drop(Pack *self, CacheEntry *entry)
{
    if (entry->offset == 0) {
        return;
    }
    cache_unlink(self, entry);
    self->cached_bytes -= PyBytes_GET_SIZE(entry->data);
    Py_CLEAR(entry->data);
    entry->offset = 0;
}

static CacheEntry *
cache_slot(Pack *self, Py_ssize_t offset)
{
    size_t hash = (size_t)offset;
    hash ^= hash >> 11;
    hash *= 0x9E3779B97F4A7C15ull;
    return &self->slots[(hash >> 20) % CACHE_SLOTS];
}

/* A new reference to the cached base at `offset`, or NULL. */
static PyObject *
cache_get(Pack *self, Py_ssize_t offset, int *type)
{
    CacheEntry *entry = cache_slot(self, offset);
    if (entry->offset != offset) {
        return NULL;
    }
    cache_unlink(self, entry);
    entry->older = self->newest;
    if (self->newest) {
        self->newest->newer = entry;
    }
    self->newest = entry;
    if (!self->oldest) {
        self->oldest = entry;
    }
    *type = entry->type;
    Py_INCREF(entry->data);
    return entry->data;
}

static void
cache_put(Pack *self, Py_ssize_t offset, int type, PyObject *data)
{
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    if (size > self->cache_limit / 2) {
        return; /* one base would push out all the others */
    }
    CacheEntry *entry = cache_slot(self, offset);
    cache_drop(self, entry);
    while (self->oldest && self->cached_bytes + size > self->cache_limit) {
        cache_drop(self, self->oldest);
    }
    entry->offset = offset;
    entry->type = type;
    Py_INCREF(data);
    entry->data = data;
    entry->older = self->newest;
    entry->newer = NULL;
    if (self->newest) {
        self->newest->newer = entry;
    }
    self->newest = entry;
    if (!self->oldest) {
        self->oldest = entry;
    }
    self->cached_bytes += size;
}

static PyObject *
damaged(Py_ssize_t offset, const char *why)
{
    PyErr_Format(PyExc_ValueError, "pack entry at offset %zd: %s", offset, why);
    return NULL;
}

/* The pack offset of the object named by a 20-byte id, or -1. */
static Py_ssize_t
find_offset(Pack *self, const unsigned char *oid)
{
    const unsigned char *fanout = self->idx + IDX_HEADER;
    uint32_t low = oid[0] ? be32(fanout + 4 * (oid[0] - 1)) : 0;
    uint32_t high = be32(fanout + 4 * oid[0]);
    while (low < high) {
        uint32_t middle = low + (high - low) / 2;
        int order = memcmp(self->names + (size_t)middle * OID_SIZE, oid, OID_SIZE);
        if (order == 0) {
            uint32_t offset = be32(self->offsets32 + (size_t)middle * 4);
            if (!(offset & 0x80000000u)) {
                return (Py_ssize_t)offset;
            }
            size_t index = offset & 0x7fffffffu;
            if (index >= self->count64) {
                return -1;
            }
            const unsigned char *wide = self->offsets64 + index * 8;
            uint64_t value = ((uint64_t)be32(wide) << 32) | be32(wide + 4);
            return value < self->pack_size ? (Py_ssize_t)value : -1;
        }
        if (order < 0) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return -1;
}

typedef struct {
    int type;
    Py_ssize_t size;       /* of the object, or of the delta before it is applied */
    size_t data;           /* where the zlib stream starts */
    Py_ssize_t base;       /* a delta's base offset */
} Entry;

static int
parse_entry(Pack *self, Py_ssize_t offset, Entry *entry)
{
    size_t end = self->pack_size - OID_SIZE;
    size_t at = (size_t)offset;
    if (offset < PACK_HEADER || at >= end) {
        damaged(offset, "offset outside the pack");
        return -1;
    }
    unsigned char byte = self->pack[at++];
    entry->type = (byte >> 4) & 7;
    uint64_t size = byte & 15;
    int shift = 4;
    while (byte & 0x80) {
        if (at >= end || shift > 56) {
            damaged(offset, "bad entry header");
            return -1;
        }
        byte = self->pack[at++];
        size |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
    }
    if (size > (uint64_t)MAX_OBJECT_SIZE) {
        damaged(offset, "object larger than allowed");
        return -1;
    }
    entry->size = (Py_ssize_t)size;
    entry->base = -1;
    if (entry->type == OBJ_OFS_DELTA) {
        if (at >= end) {
            damaged(offset, "truncated delta base offset");
            return -1;
        }
        byte = self->pack[at++];
        uint64_t back = byte & 0x7f;
        while (byte & 0x80) {
            if (at >= end || back > ((uint64_t)1 << 48)) {
                damaged(offset, "bad delta base offset");
                return -1;
            }
            byte = self->pack[at++];
            back = ((back + 1) << 7) | (byte & 0x7f);
        }
        if (back == 0 || back > (uint64_t)offset - PACK_HEADER) {
            damaged(offset, "delta base offset outside the pack");
            return -1;
        }
        entry->base = offset - (Py_ssize_t)back;
    } else if (entry->type == OBJ_REF_DELTA) {
        if (at + OID_SIZE > end) {
            damaged(offset, "truncated delta base id");
            return -1;
        }
        entry->base = find_offset(self, self->pack + at);
        if (entry->base < 0) {
            damaged(offset, "delta base is not in this pack");
            return -1;
        }
        at += OID_SIZE;
    } else if (entry->type < OBJ_COMMIT || entry->type > OBJ_TAG) {
        damaged(offset, "unknown object type");
        return -1;
    }
    entry->data = at;
    return 0;
}

/* As much of `left` as one zlib count holds, taken off it. */
static uInt
take_piece(size_t *left)
{
    uInt piece = *left > UINT_MAX ? UINT_MAX : (uInt)*left;
    *left -= piece;
    return piece;
}

/* Inflates the entry's zlib stream into `out`, which must come out exactly `size` bytes. */
static int
inflate_entry(Pack *self, Py_ssize_t offset, const Entry *entry, unsigned char *out)
{
    z_stream *z = &self->inflater;
    if (!self->inflater_ready) {
        memset(z, 0, sizeof(*z));
        if (inflateInit(z) != Z_OK) {
            damaged(offset, "zlib could not start");
            return -1;
        }
        self->inflater_ready = 1;
    } else if (inflateReset(z) != Z_OK) {
        damaged(offset, "zlib could not restart");
        return -1;
    }
    size_t available = self->pack_size - OID_SIZE - entry->data;
    unsigned char spare;
    z->next_in = (unsigned char *)(self->pack + entry->data);
    z->avail_in = 0;
    z->avail_out = 0;
    z->next_out = entry->size ? out : &spare;
    size_t left_out = entry->size ? (size_t)entry->size : 1;
    int status = Z_OK;
    /* zlib counts in unsigned ints: an object or pack past 4 GiB is fed in pieces. */
    while (status == Z_OK) {
        if (z->avail_in == 0 && (z->avail_in = take_piece(&available)) == 0) {
            break;
        }
        if (z->avail_out == 0 && (z->avail_out = take_piece(&left_out)) == 0) {
            break;
        }
        status = inflate(z, Z_NO_FLUSH);
    }
    if (status != Z_STREAM_END || z->total_out != (uLong)entry->size) {
        damaged(offset, "compressed data does not inflate to the recorded size");
        return -1;
    }
    self->inflated_since_release += z->total_in;
    return 0;
}

/* See RELEASE_EVERY. The mapping is private and never written, so its pages come back from the
 * file as they were. */
static void
release_read_pages(Pack *self)
{
#ifdef MADV_DONTNEED
    if (self->inflated_since_release >= self->release_every) {
        (void)madvise((void *)self->pack, self->pack_size, MADV_DONTNEED);
        self->inflated_since_release = 0;
    }
#endif
}

static int
delta_size(const unsigned char **at, const unsigned char *end, size_t *size)
{
    uint64_t value = 0;
    int shift = 0;
    unsigned char byte;
    do {
        if (*at >= end || shift > 56) {
            return -1;
        }
        byte = *(*at)++;
        value |= (uint64_t)(byte & 0x7f) << shift;
        shift += 7;
    } while (byte & 0x80);
    *size = (size_t)value;
    return value > (uint64_t)PY_SSIZE_T_MAX ? -1 : 0;
}

/* The target of the delta at `offset` applied to `base`. */
static PyObject *
apply_delta(Pack *self, Py_ssize_t offset, const Entry *entry, PyObject *base)
{
    unsigned char *delta = PyMem_Malloc(entry->size ? (size_t)entry->size : 1);
    if (!delta) {
        return PyErr_NoMemory();
    }
    PyObject *target = NULL;
    if (inflate_entry(self, offset, entry, delta) < 0) {
        goto done;
    }
    const unsigned char *at = delta, *end = delta + entry->size;
    size_t base_size, target_size;
    if (delta_size(&at, end, &base_size) < 0 || delta_size(&at, end, &target_size) < 0) {
        damaged(offset, "bad delta header");
        goto done;
    }
    if (base_size != (size_t)PyBytes_GET_SIZE(base) || target_size > (size_t)MAX_OBJECT_SIZE) {
        damaged(offset, "delta does not fit its base");
        goto done;
    }
    target = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)target_size);
    if (!target) {
        goto done;
    }
    const unsigned char *source = (const unsigned char *)PyBytes_AS_STRING(base);
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(target);
    size_t written = 0;
    while (at < end) {
        unsigned char command = *at++;
        if (command & 0x80) {
            size_t from = 0, size = 0;
            for (int bit = 0; bit < 4; bit++) {
                if (command & (1 << bit)) {
                    if (at >= end) {
                        goto bad;
                    }
                    from |= (size_t)*at++ << (8 * bit);
                }
            }
            for (int bit = 0; bit < 3; bit++) {
                if (command & (0x10 << bit)) {
                    if (at >= end) {
                        goto bad;
                    }
                    size |= (size_t)*at++ << (8 * bit);
                }
            }
            if (size == 0) {
                size = 0x10000;
            }
            if (from > base_size || size > base_size - from || size > target_size - written) {
                goto bad;
            }
            memcpy(out + written, source + from, size);
            written += size;
        } else if (command) {
            if ((size_t)(end - at) < command || command > target_size - written) {
                goto bad;
            }
            memcpy(out + written, at, command);
            at += command;
            written += command;
        } else {
            goto bad;
        }
    }
    if (written != target_size) {
        goto bad;
    }
    goto done;
bad:
    Py_CLEAR(target);
    damaged(offset, "delta does not apply to its base");
done:
    PyMem_Free(delta);
    return target;
}

/* The bytes of the object at `offset`, and its type. */
static PyObject *
read_object(Pack *self, Py_ssize_t offset, int *type)
{
    Entry chain_inline[64];
    Entry *chain = chain_inline;
    size_t length = 0, allocated = 64;
    Py_ssize_t chain_offsets_inline[64];
    Py_ssize_t *chain_offsets = chain_offsets_inline;
    PyObject *data = NULL;
    int found_type = 0;
    Py_ssize_t at = offset;

    for (;;) {
        if ((data = cache_get(self, at, &found_type)) != NULL) {
            break;
        }
        Entry entry;
        if (parse_entry(self, at, &entry) < 0) {
            goto failed;
        }
        if (entry.type != OBJ_OFS_DELTA && entry.type != OBJ_REF_DELTA) {
            data = PyBytes_FromStringAndSize(NULL, entry.size);
            if (!data) {
                goto failed;
            }
            if (inflate_entry(self, at, &entry, (unsigned char *)PyBytes_AS_STRING(data)) < 0) {
                goto failed;
            }
            found_type = entry.type;
            if (length > 0) {
                cache_put(self, at, found_type, data);
            }
            break;
        }
        if (length >= MAX_CHAIN) {
            damaged(offset, "delta chain too long (a cycle?)");
            goto failed;
        }
        if (length == allocated) {
            size_t grown = 2 * allocated;
            Entry *bigger = PyMem_Malloc(grown * sizeof(Entry));
            Py_ssize_t *wider = PyMem_Malloc(grown * sizeof(Py_ssize_t));
            if (!bigger || !wider) {
                PyMem_Free(bigger);
                PyMem_Free(wider);
                PyErr_NoMemory();
                goto failed;
            }
            memcpy(bigger, chain, length * sizeof(Entry));
            memcpy(wider, chain_offsets, length * sizeof(Py_ssize_t));
            if (chain != chain_inline) {
                PyMem_Free(chain);
                PyMem_Free(chain_offsets);
            }
            chain = bigger;
            chain_offsets = wider;
            allocated = grown;
        }
        chain[length] = entry;
        chain_offsets[length] = at;
        length++;
        at = entry.base;
    }
    while (length > 0) {
        length--;
        PyObject *target = apply_delta(self, chain_offsets[length], &chain[length], data);
        Py_DECREF(data);
        data = target;
        if (!data) {
            goto failed;
        }
        if (length > 0) {
            cache_put(self, chain_offsets[length], found_type, data);
        }
    }
    *type = found_type;
    goto done;
failed:
    Py_CLEAR(data);
done:
    if (chain != chain_inline) {
        PyMem_Free(chain);
        PyMem_Free(chain_offsets);
    }
    return data;
}

static int
check_open(Pack *self)
{
    if (!self->pack) {
        PyErr_SetString(PyExc_ValueError, "the pack is closed");
        return -1;
    }
    return 0;
}

static PyObject *
Pack_find(Pack *self, PyObject *oid)
{
    if (check_open(self) < 0) {
        return NULL;
    }
    if (!PyBytes_Check(oid) || PyBytes_GET_SIZE(oid) != OID_SIZE) {
        PyErr_SetString(PyExc_TypeError, "find(oid): a 20-byte object id");
        return NULL;
    }
    return PyLong_FromSsize_t(find_offset(self, (const unsigned char *)PyBytes_AS_STRING(oid)));
}

static PyObject *
Pack_read(Pack *self, PyObject *arg)
{
    if (check_open(self) < 0) {
        return NULL;
    }
    Py_ssize_t offset = PyLong_AsSsize_t(arg);
    if (offset == -1 && PyErr_Occurred()) {
        return NULL;
    }
    int type = 0;
    PyObject *data = read_object(self, offset, &type);
    release_read_pages(self);
    return data ? Py_BuildValue("(iN)", type, data) : NULL;
}

static void
Pack_release(Pack *self)
{
    for (size_t index = 0; index < CACHE_SLOTS; index++) {
        cache_drop(self, &self->slots[index]);
    }
    if (self->inflater_ready) {
        inflateEnd(&self->inflater);
        self->inflater_ready = 0;
    }
    if (self->pack) {
        munmap((void *)self->pack, self->pack_size);
        self->pack = NULL;
    }
    if (self->idx) {
        munmap((void *)self->idx, self->idx_size);
        self->idx = NULL;
    }
}

static PyObject *
Pack_close(Pack *self, PyObject *unused)
{
    (void)unused;
    Pack_release(self);
    return Py_NewRef(Py_None);
}

static void
Pack_dealloc(Pack *self)
{
    Pack_release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
Pack_init(Pack *self, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"pack", "index", "cache_limit", "release_every", NULL};
    PyObject *pack_path, *idx_path;
    Py_ssize_t cache_limit = 16 << 20, release_every = RELEASE_EVERY;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O&O&|nn", keywords, PyUnicode_FSConverter,
                                     &pack_path, PyUnicode_FSConverter, &idx_path,
                                     &cache_limit, &release_every)) {
        return -1;
    }
    if (release_every < 1) {
        PyErr_SetString(PyExc_ValueError, "release_every must be at least 1");
        return -1;
    }
    Pack_release(self);
    self->cache_limit = cache_limit;
    self->release_every = (size_t)release_every;
    self->inflated_since_release = 0;
    int failed = map_file(PyBytes_AS_STRING(pack_path), &self->pack, &self->pack_size) < 0 ||
                 map_file(PyBytes_AS_STRING(idx_path), &self->idx, &self->idx_size) < 0;
    const char *idx_name = PyBytes_AS_STRING(idx_path);
    if (!failed) {
        const unsigned char *idx = self->idx;
        size_t fixed = IDX_HEADER + FANOUT_SIZE + TRAILER;
        if (self->idx_size < fixed || memcmp(idx, "\377tOc\0\0\0\2", IDX_HEADER) != 0) {
            PyErr_Format(PyExc_ValueError, "%s: not a version 2 pack index", idx_name);
            failed = 1;
        } else {
            uint32_t previous = 0;
            for (int bucket = 0; bucket < 256 && !failed; bucket++) {
                uint32_t value = be32(idx + IDX_HEADER + 4 * bucket);
                failed = value < previous;
                previous = value;
            }
            self->count = previous;
            size_t per_object = OID_SIZE + 4 + 4;
            size_t tables = fixed + (size_t)self->count * per_object;
            if (failed || self->idx_size < tables || (self->idx_size - tables) % 8 != 0) {
                PyErr_Format(PyExc_ValueError, "%s: damaged pack index", idx_name);
                failed = 1;
            } else {
                self->names = idx + IDX_HEADER + FANOUT_SIZE;
                self->offsets32 = self->names + (size_t)self->count * (OID_SIZE + 4);
                self->offsets64 = self->offsets32 + (size_t)self->count * 4;
                self->count64 = (self->idx_size - tables) / 8;
            }
        }
    }
    if (!failed) {
        const unsigned char *pack = self->pack;
        if (self->pack_size < PACK_HEADER + OID_SIZE || memcmp(pack, "PACK", 4) != 0 ||
            (be32(pack + 4) != 2 && be32(pack + 4) != 3) || be32(pack + 8) != self->count) {
            PyErr_Format(PyExc_ValueError, "%s: not the pack its index describes",
                         PyBytes_AS_STRING(pack_path));
            failed = 1;
        }
    }
    Py_DECREF(pack_path);
    Py_DECREF(idx_path);
    if (failed) {
        Pack_release(self);
        return -1;
    }
    return 0;
}

static PyObject *
Pack_count(Pack *self, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(self->pack ? self->count : 0);
}

static PyMethodDef Pack_methods[] = {
    {"find", (PyCFunction)Pack_find, METH_O,
     "find(oid) -> the pack offset of the object with this 20-byte id, or -1."},
    {"read", (PyCFunction)Pack_read, METH_O,
     "read(offset) -> (type, data) of the object at this pack offset."},
    {"close", (PyCFunction)Pack_close, METH_NOARGS, "Unmap the pack and drop cached bases."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Pack_getset[] = {
    {"count", (getter)Pack_count, NULL, "How many objects the pack holds.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PackType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "keyscan._packs.Pack",
    .tp_basicsize = sizeof(Pack),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A git pack file and its version 2 index, mapped read-only.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Pack_init,
    .tp_dealloc = (destructor)Pack_dealloc,
    .tp_methods = Pack_methods,
    .tp_getset = Pack_getset,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_packs", "Git pack files read in-process (keyscan.sources.packs).",
    -1, NULL,
};

PyMODINIT_FUNC
PyInit__packs(void)
{
    if (PyType_Ready(&PackType) < 0) {
        return NULL;
    }
    PyObject *created = PyModule_Create(&module);
    if (!created) {
        return NULL;
    }
    if (PyModule_AddObjectRef(created, "Pack", (PyObject *)&PackType) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}

# C types for feeds/replay.py when Cython compiles it (setup.py); the .py stays plain Python.
cimport cython

from feeds.core.engine cimport Engine


cdef class _Feed:
    cdef Engine engine
    cdef object on_flag, stats
    cdef public Py_ssize_t messages

    cpdef take(self, dict msg)
    cpdef bint take_sample(self, dict msg) except -1
    cdef _report(self, object flags)


@cython.locals(feed=_Feed, errors=Py_ssize_t, batch=bint)
cpdef replay(object records, object engine, object on_flag, object on_error, bint strict=*)

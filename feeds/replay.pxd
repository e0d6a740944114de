# C types for feeds/replay.py when Cython compiles it (setup.py); the .py stays plain Python.
cimport cython


@cython.locals(messages=Py_ssize_t, errors=Py_ssize_t, batch=bint)
cpdef replay(object records, object engine, object on_flag, object on_error, bint strict=*)

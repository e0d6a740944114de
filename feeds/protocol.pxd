# C types for feeds/protocol.py when Cython compiles it (setup.py); the .py stays plain Python.
cimport cython

cdef object _MAX, _LOWEST


@cython.locals(call=object, t=object, dt=object, cp=object, cd=object, ap=object, ad=object)
cpdef bint _fast_sample(dict msg)

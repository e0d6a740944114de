# C types for feeds/protocol.py when Cython compiles it (setup.py); the .py stays plain Python.
cimport cython

cdef double _MAX, _LOWEST


cdef bint _finite(double value) noexcept
cpdef tuple sample_fields(dict msg)
cpdef bint plain_sample(object call, object t, object dt, object cust_db, object cust_pitch,
                        object agent_db, object agent_pitch) noexcept
cpdef bint _fast_sample(dict msg)

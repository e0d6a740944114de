# C types for feeds/protocol.py when Cython compiles it (setup.py); the .py stays plain Python.
cimport cython

cdef double _T_HI, _SPAN_HI, _DB_LO, _DB_HI, _HZ_LO, _HZ_HI


cdef bint _within(double value, double low, double high) noexcept
cpdef tuple sample_fields(dict msg)
cpdef bint plain_sample(object call, object t, object dt, object cust_db, object cust_pitch,
                        object agent_db, object agent_pitch) noexcept
cpdef bint _fast_sample(dict msg)

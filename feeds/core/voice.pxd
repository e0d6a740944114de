# C types for feeds/voice.py when Cython compiles it (setup.py); the .py stays plain Python.
cimport cython

cdef double _SEMITONE_OFFSET, NO_BASE
cdef bint COMPILED


@cython.locals(ordered=list, n=Py_ssize_t, value=double)
cdef double _median(double[:] values)


cdef class Track:
    # Declared in memory order: what a baseline update touches first (two cache lines).
    cdef public Py_ssize_t base_head, base_n
    cdef public double base_total, window_s, min_speech, threshold, median
    cdef double[::1] base_win
    cdef public double clear_margin, peak

    @cython.locals(total=double, head=Py_ssize_t, n=Py_ssize_t, count=Py_ssize_t, median=double,
                   ordered=Py_ssize_t)
    cpdef double into_baseline(self, double dt, double value)
    @cython.locals(head=Py_ssize_t, n=Py_ssize_t, kept=Py_ssize_t, size=Py_ssize_t,
                   count=Py_ssize_t, grown="double[::1]")
    cdef Py_ssize_t _make_room(self)
    @cython.locals(end=Py_ssize_t, mid=Py_ssize_t, i=Py_ssize_t)
    cdef void _insert_sorted(self, Py_ssize_t lo, Py_ssize_t hi, double x)
    @cython.locals(end=Py_ssize_t, mid=Py_ssize_t, i=Py_ssize_t)
    cdef void _remove_sorted(self, Py_ssize_t lo, Py_ssize_t hi, double x)


cdef class Party:
    # Declared in memory order: what every voiced sample touches first (the spike state,
    # then the windows' ends and the array's data and length: two cache lines); a
    # memoryview is 208 bytes, of which those are the first 24.
    cdef public bint active, judge_pitch
    cdef public double db_spike_at, st_spike_at, db_due, st_due, resolution
    cdef public Py_ssize_t db_n, st_n
    cdef double[::1] win
    cdef public Track db, st
    cdef public double sustain

    @cython.locals(active=bint, judge=bint, step=double, due=double, level=double, st=double,
                   n=Py_ssize_t)
    cpdef voiced(self, object dt, object db, object pitch_hz)
    @cython.locals(half=Py_ssize_t, lo=Py_ssize_t, n=Py_ssize_t, start=Py_ssize_t,
                   kept=Py_ssize_t, i=Py_ssize_t, total=double, grown="double[::1]")
    cdef Py_ssize_t _compact(self, bint pitch)
    @cython.locals(track=Track, lo=Py_ssize_t, n=Py_ssize_t, i=Py_ssize_t, total=double)
    cpdef _excess(self, bint pitch)
    cpdef _judge(self, bint active)
    cpdef _track_peaks(self, object db_excess, object st_excess)

# C types for feeds/voice.py when Cython compiles it (setup.py); the .py stays plain Python.
cimport cython


cdef double _SEMITONE_OFFSET


cdef class Track:
    cdef public double threshold, clear_margin, sustain, window_s, min_speech, base_total, peak
    cdef public object base
    cdef public object base_dts, base_values, base_sorted
    cdef public list recent
    cdef public Py_ssize_t base_head

    @cython.locals(total=double, head=Py_ssize_t,
                   n=Py_ssize_t, base=double)
    cpdef double into_baseline(self, double dt, object value)
    @cython.locals(recent=list, total=double, i=Py_ssize_t)
    cpdef trim(self)
    @cython.locals(recent=list, total=double, i=Py_ssize_t)
    cpdef excess(self)


cdef class Party:
    cdef public bint active
    cdef public Track db, st
    cdef public list db_recent, st_recent
    cdef public double db_spike_at, st_spike_at, db_due, st_due, resolution

    @cython.locals(active=bint, judge=bint, due=double, level=double, st=double, recent=list)
    cpdef voiced(self, double dt, object db, object pitch_hz)
    cpdef _judge(self, bint active)
    cpdef _track_peaks(self, object db_excess, object st_excess)

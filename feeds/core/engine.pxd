# C types for feeds/engine.py when Cython compiles it (setup.py); the .py stays plain Python.
cimport cython

from feeds.core.protocol cimport plain_sample, sample_fields
from feeds.core.voice cimport Party


cdef class CallState:
    # Declared in memory order: what every sample touches first.
    cdef public double t
    cdef public bint on_hold
    cdef public Party cust, agent_party
    cdef public object last_cust_db, last_cust_pitch, last_agent_db, last_agent_pitch
    cdef public object config
    cdef public str id, agent, team
    cdef public object agent_name, queue, customer
    cdef public list agents
    cdef public double started, hold_started, hold_total
    cdef public bint agent_raised_during_distress
    cdef public Py_ssize_t holds, transfers, talk_overs, backchannels
    cdef public list transfer_path
    cdef public object talk_over_times
    cdef public dict open, episodes
    cdef public set raised_once
    cdef public object distress_raised_at

    cpdef sample(self, dict msg)
    # dt stays the message's float: Party.voiced keeps it as it is
    cpdef levels(self, double t, object dt, object c_db, object c_pitch, object a_db,
                 object a_pitch)
    @cython.locals(held=double, total=double, at=double)
    cpdef list tick(self, double t)


cdef class Engine:
    cdef public object config
    cdef public dict calls, past

    @cython.locals(call=CallState)
    cpdef process(self, dict msg)
    @cython.locals(call=CallState)
    cpdef take_sample(self, dict msg)

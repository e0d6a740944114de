# C types for feeds/recording.py when Cython compiles it (setup.py); the .py stays plain Python.
from feeds.core.protocol cimport _fast_sample

"""Real-time dynamics under ``U(t) = exp(-iHt)``: Trotter circuits on Aer and what they give.

- :mod:`qrspps.dynamics.states`: initial states (product states, the random states of the trace
  estimator, the mean-field state) and the circuits that prepare them.
- :mod:`qrspps.dynamics.trotter`: one compiled Trotter step, survival amplitudes
  ``A(t_k) = <psi0|U_trotter(t_k)|psi0>`` and per-node stress along the evolution.
- :mod:`qrspps.dynamics.dosqpe`: aliasing guard, windowed FFT to a signed energy axis, the
  trace estimator of the density of states, distances to the exact spectrum.
- :mod:`qrspps.dynamics.cascade`: per-node stress over time and its heat map.

Conventions (qubit order, signs, ``chi(t)``, DOS normalisation, Trotter order) are those of
:mod:`qrspps.conventions`.
"""

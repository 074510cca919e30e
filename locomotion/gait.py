"""Phase-based gait scheduling.

A gait is a periodic contact pattern. One global phase advances at the stepping frequency; leg i
is at phase ``(global_phase + phase_offsets[i]) mod 1``, in stance while that phase is below the
duty factor (stance fraction of the cycle) and in swing after it.

Parameter changes while walking are smooth: the scheduler moves its current parameters towards
the target at bounded rates, so leg phases never jump. Frequency changes integrate into the
phase (no jump by construction); offsets move along the shortest way round the circle.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numba import njit

from locomotion.config import ConfigError, config_dir, from_dict, load_yaml


@dataclasses.dataclass(frozen=True)
class GaitParameters:
    stepping_frequency_hz: float
    duty_factor: float  # stance fraction of a cycle, in (0, 1]; 1 means all legs always in stance
    phase_offsets: tuple[float, float, float, float]  # cycles, Unitree leg order FR, FL, RR, RL
    swing_height_m: float
    base_height_m: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.stepping_frequency_hz <= 6.0:
            raise ValueError(f"stepping_frequency_hz: must be in [0, 6], got {self.stepping_frequency_hz}")
        if not 0.2 <= self.duty_factor <= 1.0:
            raise ValueError(f"duty_factor: must be in [0.2, 1], got {self.duty_factor}")
        if len(self.phase_offsets) != 4:
            raise ValueError("phase_offsets: need one value per leg (4)")
        if not 0.0 <= self.swing_height_m <= 0.2:
            raise ValueError(f"swing_height_m: must be in [0, 0.2], got {self.swing_height_m}")
        if not 0.15 <= self.base_height_m <= 0.36:
            raise ValueError(f"base_height_m: must be in [0.15, 0.36], got {self.base_height_m}")

    def as_array(self) -> np.ndarray:
        return np.array(
            [self.stepping_frequency_hz, self.duty_factor, *self.phase_offsets,
             self.swing_height_m, self.base_height_m]
        )

    @classmethod
    def from_array(cls, values: np.ndarray) -> GaitParameters:
        v = [float(x) for x in values]
        return cls(v[0], v[1], (v[2] % 1.0, v[3] % 1.0, v[4] % 1.0, v[5] % 1.0), v[6], v[7])


def load_gait_presets(path=None) -> dict[str, GaitParameters]:
    """Named gaits from ``config/gaits.yaml``."""
    data = load_yaml(path or config_dir() / "gaits.yaml")
    presets = {}
    for name, fields in data.get("presets", {}).items():
        try:
            presets[name] = from_dict(GaitParameters, fields, f"presets.{name}")
        except ConfigError as exc:
            raise ConfigError(f"gaits.yaml: {exc}") from exc
    if "stand" not in presets:
        raise ConfigError("gaits.yaml: presets.stand: missing required preset")
    return presets


@dataclasses.dataclass(frozen=True)
class GaitTransitionRates:
    """Largest change per second of each gait parameter while blending to a new gait."""

    frequency_hz_per_s: float = 4.0
    duty_per_s: float = 0.5
    offset_cycles_per_s: float = 1.0
    swing_height_m_per_s: float = 0.2
    base_height_m_per_s: float = 0.1


def _wrap_half(x: np.ndarray) -> np.ndarray:
    """Wrap to [-0.5, 0.5)."""
    return (x + 0.5) % 1.0 - 0.5


@njit(cache=True)
def leg_schedule(global_phase: float, offsets: np.ndarray, duty: float, frequency: float):
    """Per leg: phase in [0, 1), in stance (phase below the duty factor; always when duty >= 1 or
    frequency <= 0), progress through the swing and through the stance, each in [0, 1]."""
    n = offsets.shape[0]
    phases, stance = np.empty(n), np.empty(n, np.bool_)
    swing, stance_progress = np.zeros(n), np.zeros(n)
    for leg in range(n):
        phase = (global_phase + offsets[leg] % 1.0) % 1.0
        phases[leg] = phase
        stance[leg] = duty >= 1.0 or frequency <= 0.0 or phase < duty
        if stance[leg]:
            stance_progress[leg] = min(phase / max(duty, 1e-6), 1.0)
        elif duty < 1.0:
            swing[leg] = min(max((phase - duty) / (1.0 - duty), 0.0), 1.0)
    return phases, stance, swing, stance_progress


class GaitScheduler:
    """Advances the gait phase and answers which legs should be in stance, now and ahead."""

    def __init__(self, params: GaitParameters, rates: GaitTransitionRates | None = None):
        self.rates = rates or GaitTransitionRates()
        self.reset(params)

    def reset(self, params: GaitParameters) -> None:
        self._current = params.as_array()
        self._target = params.as_array()
        self._step_per_s = self._rate_vector()
        self._blending = False
        self.global_phase = 0.0  # refreshes the per-leg answers

    def _rate_vector(self) -> np.ndarray:
        r = self.rates
        return np.array([r.frequency_hz_per_s, r.duty_per_s, *([r.offset_cycles_per_s] * 4),
                         r.swing_height_m_per_s, r.base_height_m_per_s])

    # --- parameters --------------------------------------------------------------------------
    @property
    def params(self) -> GaitParameters:
        return GaitParameters.from_array(self._current)

    @property
    def target(self) -> GaitParameters:
        return GaitParameters.from_array(self._target)

    def set_target(self, params: GaitParameters) -> None:
        """Blend towards ``params`` at the configured rates (no jumps)."""
        self._target = params.as_array()
        self._blending = not np.array_equal(self._target, self._current)

    @property
    def frequency(self) -> float:
        return self._frequency

    @property
    def duty_factor(self) -> float:
        return self._duty

    @property
    def phase_offsets(self) -> np.ndarray:
        return self._current[2:6] % 1.0

    @property
    def swing_height(self) -> float:
        return float(self._current[6])

    @property
    def base_height(self) -> float:
        return float(self._current[7])

    # --- time --------------------------------------------------------------------------------
    def update(self, dt: float) -> None:
        if self._blending:
            delta = self._target - self._current
            delta[2:6] = _wrap_half(delta[2:6])
            step = self._step_per_s * dt
            self._current = self._current + np.clip(delta, -step, step)
            self._current[2:6] %= 1.0
            self._blending = not np.array_equal(self._target, self._current)
        self.global_phase = (self._global_phase + float(self._current[0]) * dt) % 1.0

    @property
    def global_phase(self) -> float:
        return self._global_phase

    @global_phase.setter
    def global_phase(self, phase: float) -> None:
        self._global_phase = phase
        self._refresh()

    def _refresh(self) -> None:
        """The per-leg answers for the current phase and parameters, computed once per tick."""
        self._frequency, self._duty = float(self._current[0]), float(self._current[1])
        answers = leg_schedule(self._global_phase, self._current[2:6], self._duty, self._frequency)
        for array in answers:
            array.flags.writeable = False
        self._phases, self._stance, self._swing, self._stance_progress = answers

    # --- queries (read-only arrays, valid until the next update) -------------------------------
    @property
    def leg_phases(self) -> np.ndarray:
        return self._phases

    def desired_stance(self) -> np.ndarray:
        """(4,) True where the schedule puts the leg in stance now."""
        return self._stance

    def swing_progress(self) -> np.ndarray:
        """(4,) position within the swing in [0, 1]; 0 for legs in stance."""
        return self._swing

    def stance_progress(self) -> np.ndarray:
        """(4,) position within the stance in [0, 1]; 0 for legs in swing."""
        return self._stance_progress

    @property
    def stance_duration(self) -> float:
        if self.frequency <= 0.0:
            return 0.3
        return self.duty_factor / self.frequency

    @property
    def swing_duration(self) -> float:
        if self.frequency <= 0.0:
            return 0.0
        return (1.0 - self.duty_factor) / self.frequency

    def contact_schedule(self, horizon_steps: int, dt: float) -> np.ndarray:
        """(horizon_steps, 4) planned stance flags at t, t+dt, ... with the current parameters."""
        if self.duty_factor >= 1.0 or self.frequency <= 0.0:
            return np.ones((horizon_steps, 4), dtype=bool)
        times = np.arange(horizon_steps)[:, None] * dt
        phases = (self._phases[None, :] + self.frequency * times) % 1.0
        return phases < self.duty_factor

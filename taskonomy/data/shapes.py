"""Analytic ray intersections and surface attributes of the object classes.

Each class has two vectorised routines. ``hit_*`` takes the batch's ray origins
``o (B, 3)`` and unit world directions ``d (B, P, 3)`` and the class's
:class:`~taskonomy.data.scenes.Objects` and returns the ray parameter ``t (B, M, P)`` of
the first hit of every slot (``inf`` for a miss or an empty slot). ``surface_*`` takes
flat hit points ``(n, 3)`` and the parameters of the object each hit, and returns the
outward world normal, the principal curvatures ``(k1 >= k2)`` in 1/m (convex positive)
and whether the surface is planar. Curvatures are analytic: plane ``(0, 0)``, sphere
``(1/r, 1/r)``, cylinder side ``(1/r, 0)``, cone side ``(cos(a) / rho, 0)`` with ``a`` the
angle between the surface normal and the horizontal, ring (torus)
``(1/r, cos(theta) / (R + r cos(theta)))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from taskonomy.data.scenes import F64, Objects, rotation_y

_EPS = 1e-9
_INF = np.inf
#: Sphere-tracing steps for the ring and the distance below which a ray has hit.
_TRACE_STEPS = 40
_TRACE_TOL = 2e-4


@dataclass(frozen=True)
class Surface:
    """Attributes of ``n`` hit points: world normals, curvatures, planarity, a texture value."""

    normal: F64
    curvature: F64
    planar: np.ndarray
    pattern: F64


def _local(o: F64, d: F64, obj: Objects, lift: F64 | None = None) -> tuple[F64, F64]:
    """Ray origins ``(B, M, 3)`` and directions ``(B, M, P, 3)`` in each object's frame."""
    rot = rotation_y(obj.yaw)  # local -> world; apply the transpose
    rel = o[:, None, :] - obj.base
    if lift is not None:
        rel = rel - lift
    lo = np.matmul(rel[:, :, None, :], rot)[:, :, 0]
    ld = np.matmul(d[:, None], rot)
    return lo, ld


def _first_positive(*ts: F64) -> F64:
    best = np.full(ts[0].shape, _INF)
    for t in ts:
        best = np.where((t > 1e-6) & (t < best), t, best)
    return best


def _mask(t: F64, obj: Objects) -> F64:
    return np.where(obj.active[:, :, None], t, _INF)


def hit_sphere(o: F64, d: F64, obj: Objects) -> F64:
    r = obj.size[..., 0]
    oc = o[:, None, :] - obj.base
    oc[..., 1] -= r
    b = np.matmul(oc, d.transpose(0, 2, 1))
    c = ((oc * oc).sum(-1) - r * r)[:, :, None]
    disc = b * b - c
    with np.errstate(invalid="ignore"):
        t = -b - np.sqrt(disc)
    return _mask(np.where(disc >= 0, _first_positive(t), _INF), obj)


def hit_box(o: F64, d: F64, obj: Objects) -> F64:
    half = obj.size
    lift = np.zeros_like(half)
    lift[..., 1] = half[..., 1]
    lo, ld = _local(o, d, obj)
    lo = lo - lift
    ld = np.where(np.abs(ld) < _EPS, _EPS, ld)
    t1 = (-half[:, :, None, :] - lo[:, :, None, :]) / ld
    t2 = (half[:, :, None, :] - lo[:, :, None, :]) / ld
    tmin = np.minimum(t1, t2).max(-1)
    tmax = np.maximum(t1, t2).min(-1)
    return _mask(np.where(tmin <= tmax, _first_positive(tmin), _INF), obj)


def _quadratic(a: F64, hb: F64, c: F64) -> tuple[F64, F64]:
    """Both roots of ``a t^2 + 2 hb t + c`` (``nan`` where there are none)."""
    a = np.where(np.abs(a) < _EPS, _EPS, a)
    disc = hb * hb - a * c
    with np.errstate(invalid="ignore"):
        s = np.sqrt(disc)
    return (-hb - s) / a, (-hb + s) / a


def hit_cylinder(o: F64, d: F64, obj: Objects) -> F64:
    r, h = obj.size[..., 0][:, :, None], obj.size[..., 1][:, :, None]
    rel = o[:, None, :] - obj.base
    ox, oy, oz = (rel[..., i][:, :, None] for i in range(3))
    dx, dy, dz = (d[:, None, :, i] for i in range(3))
    t0, t1 = _quadratic(dx * dx + dz * dz, ox * dx + oz * dz, ox * ox + oz * oz - r * r)
    with np.errstate(invalid="ignore"):
        side = [np.where((oy + t * dy >= 0) & (oy + t * dy <= h), t, _INF) for t in (t0, t1)]
        tc = (h - oy) / np.where(np.abs(dy) < _EPS, _EPS, dy)
        cx, cz = ox + tc * dx, oz + tc * dz
        cap = np.where(cx * cx + cz * cz <= r * r, tc, _INF)
    return _mask(_first_positive(*side, cap), obj)


def hit_cone(o: F64, d: F64, obj: Objects) -> F64:
    r, h = obj.size[..., 0][:, :, None], obj.size[..., 1][:, :, None]
    k2 = (r / np.maximum(h, 1e-9)) ** 2
    rel = o[:, None, :] - obj.base
    ox, oy, oz = (rel[..., i][:, :, None] for i in range(3))
    dx, dy, dz = (d[:, None, :, i] for i in range(3))
    yo = h - oy
    a = dx * dx + dz * dz - k2 * dy * dy
    t0, t1 = _quadratic(a, ox * dx + oz * dz + k2 * yo * dy, ox * ox + oz * oz - k2 * yo * yo)
    with np.errstate(invalid="ignore"):
        side = [np.where((oy + t * dy >= 0) & (oy + t * dy <= h), t, _INF) for t in (t0, t1)]
    return _mask(_first_positive(*side), obj)


def _torus_sdf(p: F64, big: F64, small: F64) -> F64:
    q = np.hypot(p[..., 0], p[..., 1]) - big
    return np.asarray(np.hypot(q, p[..., 2]) - small)


def hit_ring(o: F64, d: F64, obj: Objects) -> F64:
    """Sphere tracing of an upright torus (axis along the local ``z``) inside its bound."""
    big, small = obj.size[..., 0], obj.size[..., 1]
    lift = np.zeros_like(obj.base)
    lift[..., 1] = big + small
    lo, ld = _local(o, d, obj, lift)
    bound = (big + small)[:, :, None]
    b = np.matmul(ld, lo[..., None])[..., 0]
    c = (lo * lo).sum(-1)[:, :, None] - bound * bound
    disc = b * b - c
    out = np.full(disc.shape, _INF)
    cand = np.nonzero((disc > 0) & obj.active[:, :, None])
    if cand[0].size == 0:
        return out
    bi, mi, pi = cand
    s = np.sqrt(disc[cand])
    t = np.maximum(-b[cand] - s, 0.0)
    t_end = -b[cand] + s
    org, dirs = lo[bi, mi], ld[bi, mi, pi]
    bg, sm = big[bi, mi], small[bi, mi]
    for _ in range(_TRACE_STEPS):
        t = t + _torus_sdf(org + t[:, None] * dirs, bg, sm)
    dist = _torus_sdf(org + t[:, None] * dirs, bg, sm)
    out[cand] = np.where((np.abs(dist) < _TRACE_TOL) & (t < t_end) & (t > 0), t, _INF)
    return out


# ---------------------------------------------------------------------------------------
# Surface attributes at hit points (flat arrays of the n pixels hitting one class).


def _to_local(p: F64, base: F64, yaw: F64) -> tuple[F64, F64]:
    rot = rotation_y(yaw)
    return np.einsum("nji,nj->ni", rot, p - base), rot


def _checker3(p: F64, scale: float) -> F64:
    return np.asarray(np.floor(p / scale).sum(-1) % 2, dtype=np.float64)


def surface_sphere(p: F64, base: F64, yaw: F64, size: F64) -> Surface:
    r = size[:, 0]
    centre = base.copy()
    centre[:, 1] += r
    n = (p - centre) / r[:, None]
    k = 1.0 / r
    return Surface(n, np.stack([k, k], -1), np.zeros(len(p), bool), np.zeros(len(p)))


def surface_box(p: F64, base: F64, yaw: F64, size: F64) -> Surface:
    loc, rot = _to_local(p, base, yaw)
    loc[:, 1] -= size[:, 1]
    axis = np.argmax(np.abs(loc) / size, axis=1)
    nl = np.zeros_like(loc)
    idx = np.arange(len(p))
    nl[idx, axis] = np.sign(loc[idx, axis])
    n = np.einsum("nij,nj->ni", rot, nl)
    return Surface(n, np.zeros((len(p), 2)), np.ones(len(p), bool), _checker3(loc, 0.18))


def surface_cylinder(p: F64, base: F64, yaw: F64, size: F64) -> Surface:
    r, h = size[:, 0], size[:, 1]
    rel = p - base
    cap = rel[:, 1] > h - 1e-6 * np.maximum(h, 1.0)
    n = np.stack([rel[:, 0] / r, np.zeros(len(p)), rel[:, 2] / r], -1)
    n[cap] = [0.0, 1.0, 0.0]
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    curv = np.stack([np.where(cap, 0.0, 1.0 / r), np.zeros(len(p))], -1)
    stripes = np.floor(rel[:, 1] / 0.15) % 2
    return Surface(n, curv, cap, np.where(cap, 0.0, stripes))


def surface_cone(p: F64, base: F64, yaw: F64, size: F64) -> Surface:
    r, h = size[:, 0], size[:, 1]
    k = r / h
    rel = p - base
    rho = np.maximum(np.hypot(rel[:, 0], rel[:, 2]), 1e-6)
    n = np.stack([rel[:, 0] / rho, k, rel[:, 2] / rho], -1) / np.sqrt(1 + k * k)[:, None]
    k1 = 1.0 / (rho * np.sqrt(1 + k * k))
    band = ((rel[:, 1] / h > 0.45) & (rel[:, 1] / h < 0.6)).astype(np.float64)
    return Surface(n, np.stack([k1, np.zeros(len(p))], -1), np.zeros(len(p), bool), band)


def surface_ring(p: F64, base: F64, yaw: F64, size: F64) -> Surface:
    big, small = size[:, 0], size[:, 1]
    loc, rot = _to_local(p, base, yaw)
    loc[:, 1] -= big + small
    rho = np.maximum(np.hypot(loc[:, 0], loc[:, 1]), 1e-9)
    core = np.stack([loc[:, 0] / rho * big, loc[:, 1] / rho * big, np.zeros(len(p))], -1)
    nl = loc - core
    nl /= np.linalg.norm(nl, axis=1, keepdims=True)
    n = np.einsum("nij,nj->ni", rot, nl)
    cos_t = np.clip((rho - big) / small, -1.0, 1.0)
    k2 = cos_t / (big + small * cos_t)
    curv = np.stack([1.0 / small, k2], -1)
    return Surface(n, curv, np.zeros(len(p), bool), np.zeros(len(p)))


HITS = (hit_sphere, hit_box, hit_cylinder, hit_cone, hit_ring)
SURFACES = (surface_sphere, surface_box, surface_cylinder, surface_cone, surface_ring)

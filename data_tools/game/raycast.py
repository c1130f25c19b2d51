"""The first-person renderer: one ray per pixel, marched through the voxel grid (numba).

Rays step voxel by voxel (Amanatides & Woo's DDA) until they hit an opaque texel, pass
through water (tinted, as a translucent surface), or reach the fog distance. No fastmath:
the same inputs give bit-identical frames in every process.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .blocks import AIR, SKY_LABEL, STONE, WATER

SKY_ZENITH = (118.0, 164.0, 255.0)
SKY_HORIZON = (190.0, 214.0, 255.0)
WATER_FOG = (28.0, 52.0, 140.0)
SUN_COLOR = (255.0, 250.0, 205.0)

# Brightness of each face direction, like Minecraft's flat per-face shading.
SHADE_TOP, SHADE_BOTTOM, SHADE_X, SHADE_Z = 1.0, 0.5, 0.62, 0.8


@numba.njit(cache=True, nogil=True)
def camera_basis(yaw_deg: float, pitch_deg: float):
    """Forward, right and up unit vectors. Yaw 0 faces +z and grows turning right; pitch > 0 looks down."""
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    fx, fy, fz = -math.sin(yaw) * math.cos(pitch), -math.sin(pitch), math.cos(yaw) * math.cos(pitch)
    rx, rz = -math.cos(yaw), -math.sin(yaw)  # horizontal, 90 degrees clockwise of forward
    ux, uy, uz = -rz * fy, rz * fx - rx * fz, rx * fy  # up = right x forward
    return fx, fy, fz, rx, 0.0, rz, ux, uy, uz


@numba.njit(cache=True, nogil=True)
def _dda_setup(x: float, y: float, z: float, dx: float, dy: float, dz: float):
    """Amanatides & Woo: the step per axis, the ray length per cell crossed, and to the first crossing."""
    ix, iy, iz = math.floor(x), math.floor(y), math.floor(z)
    step_x = 1 if dx > 0 else -1
    step_y = 1 if dy > 0 else -1
    step_z = 1 if dz > 0 else -1
    td_x = abs(1.0 / dx) if dx != 0.0 else 1e30
    td_y = abs(1.0 / dy) if dy != 0.0 else 1e30
    td_z = abs(1.0 / dz) if dz != 0.0 else 1e30
    tm_x = ((ix + 1 - x) if dx > 0 else (x - ix)) * td_x
    tm_y = ((iy + 1 - y) if dy > 0 else (y - iy)) * td_y
    tm_z = ((iz + 1 - z) if dz > 0 else (z - iz)) * td_z
    return step_x, step_y, step_z, td_x, td_y, td_z, tm_x, tm_y, tm_z


@numba.njit(cache=True, nogil=True)
def _texel_hash(x: int, y: int, z: int, u: int, v: int) -> float:
    h = (x * 73856093) ^ (y * 19349663) ^ (z * 83492791) ^ (u * 2654435761) ^ (v * 40503)
    h = (h ^ (h >> 13)) & 0xFFFFFF
    return h / 16777216.0


@numba.njit(cache=True, nogil=True)
def render_view(out, blocks, world_height, mask, textures, opaque, faces, eye_x, eye_y, eye_z,
                yaw, pitch, fov_y_deg, fog_start, fog_end, target, crack, sun, labels):
    """Draw the view from the eye into ``out`` (H, W, 3) uint8, and what each pixel shows into ``labels``.

    ``labels`` (H, W) uint8 gets the class of each pixel (blocks.LABEL_NAMES): the block id of the
    opaque texel the ray ends on, WATER where the ray first passes through water (the pixel is mostly
    water's tint), SKY_LABEL where it reaches the fog distance; fogged hits keep their block's class.
    The colours never depend on it; the labels cost under 1% of a frame.

    ``textures`` (L, T, 16, 16, 3) and ``opaque`` (L, T, 16, 16) hold the mip levels of every texture.

    ``target`` is the (x, y, z) of the block under the crosshair (y < 0: none); it gets a dark
    outline and, while it is being broken, cracks covering the fraction ``crack`` of it.
    ``sun`` is a unit vector toward the sun.
    """
    h_px, w_px = out.shape[0], out.shape[1]
    fx, fy, fz, rx, ry, rz, ux, uy, uz = camera_basis(yaw, pitch)
    tan_h = math.tan(math.radians(fov_y_deg) * 0.5)
    tan_w = tan_h * w_px / h_px
    texels_per_block_per_pixel = 16.0 * 2.0 * tan_h / h_px  # at distance 1, facing the surface
    max_level = textures.shape[0] - 1

    ex0, ey0, ez0 = int(math.floor(eye_x)), int(math.floor(eye_y)), int(math.floor(eye_z))
    underwater = 0 <= ey0 < world_height and blocks[ex0 & mask, ez0 & mask, ey0] == WATER
    if underwater:
        fog_r, fog_g, fog_b = WATER_FOG
        fog_start, fog_end = 0.0, min(fog_end, 14.0)

    for j in range(h_px):
        sy = (1.0 - 2.0 * (j + 0.5) / h_px) * tan_h
        for i in range(w_px):
            sx = (2.0 * (i + 0.5) / w_px - 1.0) * tan_w
            dx, dy, dz = fx + sx * rx + sy * ux, fy + sx * ry + sy * uy, fz + sx * rz + sy * uz
            inv = 1.0 / math.sqrt(dx * dx + dy * dy + dz * dz)
            dx, dy, dz = dx * inv, dy * inv, dz * inv

            # Sky and fog colour for this direction.
            k = min(1.0, max(0.0, dy * 1.6))
            sky_r = SKY_HORIZON[0] + (SKY_ZENITH[0] - SKY_HORIZON[0]) * k
            sky_g = SKY_HORIZON[1] + (SKY_ZENITH[1] - SKY_HORIZON[1]) * k
            sky_b = SKY_HORIZON[2] + (SKY_ZENITH[2] - SKY_HORIZON[2]) * k
            if not underwater:
                fog_r, fog_g, fog_b = SKY_HORIZON
                if dx * sun[0] + dy * sun[1] + dz * sun[2] > 0.9975:
                    sky_r, sky_g, sky_b = SUN_COLOR

            ix, iy, iz = ex0, ey0, ez0
            step_x, step_y, step_z, td_x, td_y, td_z, tm_x, tm_y, tm_z = _dda_setup(eye_x, eye_y, eye_z, dx, dy, dz)

            t = 0.0
            hit = False
            in_water = underwater
            water_t = -1.0
            wr = wg = wb = 0.0
            cr, cg, cb = fog_r, fog_g, fog_b
            while True:
                if tm_x < tm_y and tm_x < tm_z:
                    ix += step_x
                    t = tm_x
                    tm_x += td_x
                    face = 0
                elif tm_y < tm_z:
                    iy += step_y
                    t = tm_y
                    tm_y += td_y
                    face = 1
                else:
                    iz += step_z
                    t = tm_z
                    tm_z += td_z
                    face = 2
                if t >= fog_end:
                    break
                if iy >= world_height:
                    if step_y > 0:
                        break  # above the world: only sky from here on
                    continue
                block = STONE if iy < 0 else blocks[ix & mask, iz & mask, iy]
                if block == AIR:
                    in_water = False
                    continue

                # Where the ray meets this voxel's face, and which texel that is.
                px, py, pz = eye_x + dx * t, eye_y + dy * t, eye_z + dz * t
                if face == 0:
                    u, v, shade, side, facing = pz - math.floor(pz), py - math.floor(py), SHADE_X, 1, abs(dx)
                elif face == 2:
                    u, v, shade, side, facing = px - math.floor(px), py - math.floor(py), SHADE_Z, 1, abs(dz)
                elif step_y < 0:
                    u, v, shade, side, facing = px - math.floor(px), pz - math.floor(pz), SHADE_TOP, 0, abs(dy)
                else:
                    u, v, shade, side, facing = px - math.floor(px), pz - math.floor(pz), SHADE_BOTTOM, 2, abs(dy)
                # Mip level: how many texels one pixel covers here (more at a distance and at grazing angles).
                footprint = t * texels_per_block_per_pixel / max(facing, 0.3)
                level = min(max_level, int(math.log2(footprint))) if footprint > 1.0 else 0
                tu = min(15, int(u * 16.0))
                tv = min(15, int(v * 16.0))
                if side == 1:
                    tv = 15 - tv  # texture rows run top to bottom
                tex = faces[block, side]

                if block == WATER:
                    if not in_water and water_t < 0.0:
                        water_t = t
                        wr = textures[level, tex, tv, tu, 0] * shade
                        wg = textures[level, tex, tv, tu, 1] * shade
                        wb = textures[level, tex, tv, tu, 2] * shade
                    in_water = True
                    continue
                in_water = False
                if not opaque[level, tex, tv, tu]:
                    continue

                cr = textures[level, tex, tv, tu, 0] * shade
                cg = textures[level, tex, tv, tu, 1] * shade
                cb = textures[level, tex, tv, tu, 2] * shade
                if ix == target[0] and iy == target[1] and iz == target[2]:
                    if tu == 0 or tu == 15 or tv == 0 or tv == 15:
                        cr, cg, cb = cr * 0.25, cg * 0.25, cb * 0.25
                    elif crack > 0.0 and _texel_hash(ix, iy, iz, tu // 2, tv // 2) < crack:
                        cr, cg, cb = cr * 0.4, cg * 0.4, cb * 0.4
                hit = True
                break

            surface_t = t
            if not hit:
                cr, cg, cb = (sky_r, sky_g, sky_b) if not underwater else (fog_r, fog_g, fog_b)
                surface_t = 0.0
            if water_t >= 0.0:
                # Seen through water: the deeper, the bluer.
                depth = (t - water_t) if hit else 1e3
                a = min(0.88, 0.5 + 0.07 * depth)
                cr, cg, cb = wr * a + cr * (1 - a), wg * a + cg * (1 - a), wb * a + cb * (1 - a)
                surface_t = water_t
            if water_t >= 0.0 or (underwater and not hit):
                labels[j, i] = WATER
            else:
                labels[j, i] = block if hit else SKY_LABEL
            f = min(1.0, max(0.0, (surface_t - fog_start) / (fog_end - fog_start)))
            out[j, i, 0] = int(min(255.0, cr + (fog_r - cr) * f))
            out[j, i, 1] = int(min(255.0, cg + (fog_g - cg) * f))
            out[j, i, 2] = int(min(255.0, cb + (fog_b - cb) * f))


@numba.njit(cache=True, nogil=True)
def pick_block(blocks, world_height, mask, eye_x, eye_y, eye_z, yaw, pitch, reach):
    """The first solid block within ``reach`` along the view, and the empty cell before it.

    Returns ``(found, bx, by, bz, px, py, pz)``: the block hit and the cell a placed block goes to.
    """
    dx, dy, dz, _, _, _, _, _, _ = camera_basis(yaw, pitch)
    ix, iy, iz = int(math.floor(eye_x)), int(math.floor(eye_y)), int(math.floor(eye_z))
    step_x, step_y, step_z, td_x, td_y, td_z, tm_x, tm_y, tm_z = _dda_setup(eye_x, eye_y, eye_z, dx, dy, dz)
    while True:
        px, py, pz = ix, iy, iz
        if tm_x < tm_y and tm_x < tm_z:
            ix += step_x
            t = tm_x
            tm_x += td_x
        elif tm_y < tm_z:
            iy += step_y
            t = tm_y
            tm_y += td_y
        else:
            iz += step_z
            t = tm_z
            tm_z += td_z
        if t > reach or iy < 0 or iy >= world_height:
            return False, 0, -1, 0, 0, -1, 0
        block = blocks[ix & mask, iz & mask, iy]
        if block != AIR and block != WATER:
            return True, ix, iy, iz, px, py, pz


def sun_direction() -> np.ndarray:
    """A fixed mid-morning sun: a landmark that tells the model which way it faces."""
    v = np.array([0.55, 0.62, 0.56])
    return v / np.linalg.norm(v)

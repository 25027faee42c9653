package io.vlaserve.controller.trajectory;

import io.vlaserve.controller.ActionChunk;
import io.vlaserve.controller.CartesianPose;

/**
 * The reference pose of one robot: a normalised weighted blend of the trajectories executing at
 * the moment (the newest chunk, chunks it is taking over from, or a hold).
 *
 * <p>Each layer's weight is {@code base * rampIn(t) * rampOut(t)}. Ramps follow the minimum-jerk
 * profile, so a weight leaves 0 and reaches 1 with zero first and second derivatives; base weights
 * change only by a common factor for all existing layers at the instant a new layer enters with
 * weight zero, which leaves the normalised blend unchanged. Hence, with ramps, the blend is exactly
 * as smooth at a seam as the trajectories are (C2 for minimum-jerk, C1 for cubic). What each
 * {@link Blending.Mode} does when a chunk is activated:
 *
 * <ul>
 *   <li>{@code NONE}: every layer is dropped; the new one has weight 1 at once.
 *   <li>{@code LINEAR_CROSSFADE}: layers not already fading start fading out now over the blend
 *       time; the new one fades in over the same time.
 *   <li>{@code EXPONENTIAL}: existing base weights are multiplied by {@code exp(-decay * Δ)}, Δ
 *       being how many step periods newer the new chunk's observation is than the previous newest
 *       one's (so every chunk's weight is {@code exp(-decay * age)} relative to the newest); the new
 *       layer ramps in over one step period; a superseded layer ramps out over the last step period
 *       of its horizon (or from now, if that is already past), as ACT averages exactly the
 *       predictions whose horizon covers the current time.
 * </ul>
 *
 * <p>Orientations are blended by a chain of slerps with running weights (exact for two layers,
 * continuous in the weights for more). Layer buffers are allocated once: {@link #activate} and
 * {@link #evaluate} allocate nothing. Confined to the control-loop thread; not thread-safe.
 */
public final class TrajectoryBlender {

  private static final class Layer {
    final ChunkTrajectory trajectory;
    boolean active;
    boolean hold;
    long sequence;
    double baseWeight;
    long rampInStart;
    long rampInNanos;
    long rampOutStart = Long.MAX_VALUE;
    long rampOutNanos;

    Layer(int maxSteps) {
      trajectory = new ChunkTrajectory(maxSteps);
    }

    boolean rampOutScheduled() {
      return rampOutStart != Long.MAX_VALUE;
    }

    double weight(long now) {
      double in = rampInNanos <= 0 ? 1 : Splines.minimumJerk((now - rampInStart) / (double) rampInNanos);
      double out;
      if (now < rampOutStart) {
        out = 1;
      } else if (rampOutNanos <= 0) {
        out = 0;
      } else {
        out = 1 - Splines.minimumJerk((now - rampOutStart) / (double) rampOutNanos);
      }
      return baseWeight * in * out;
    }

    boolean finished(long now) {
      return now >= rampOutStart && (rampOutNanos <= 0 || now - rampOutStart >= rampOutNanos);
    }
  }

  private final Layer[] layers;
  private final int maxLiveLayers;
  private final CartesianPose scratch = new CartesianPose();
  private final double[] blendedOrientation = new double[4];
  private long sequence;
  private Layer newest;

  /**
   * Creates a blender.
   *
   * @param maxSteps the longest chunk accepted
   * @param maxLayers how many trajectories may be blended at once; beyond that the oldest starts
   *     fading out early (one more buffer is kept for it to finish)
   */
  public TrajectoryBlender(int maxSteps, int maxLayers) {
    if (maxLayers < 2) {
      throw new IllegalArgumentException("maxLayers: " + maxLayers + " (expected: >= 2)");
    }
    this.maxLiveLayers = maxLayers;
    this.layers = new Layer[maxLayers + 1];
    for (int i = 0; i < layers.length; i++) {
      layers[i] = new Layer(maxSteps);
    }
  }

  /** Drops every layer and holds {@code pose} from {@code now}. */
  public void reset(CartesianPose pose, long now) {
    for (Layer layer : layers) {
      layer.active = false;
    }
    layers[0].trajectory.buildHold(pose, now);
    takeOverAtOnce(layers[0], true, now);
  }

  /** Makes {@code layer} the only one, at full weight from {@code now}. */
  private void takeOverAtOnce(Layer layer, boolean hold, long now) {
    layer.active = true;
    layer.hold = hold;
    layer.sequence = ++sequence;
    layer.baseWeight = 1;
    layer.rampInStart = now;
    layer.rampInNanos = 0;
    layer.rampOutStart = Long.MAX_VALUE;
    layer.rampOutNanos = 0;
    newest = layer;
  }

  /**
   * Starts executing steps {@code firstStep..} of {@code chunk} from {@code anchor} at {@code now}.
   *
   * @return false, changing nothing, if every buffer is still busy fading out (retry next tick)
   */
  public boolean activate(ActionChunk chunk, int firstStep, Interpolation interpolation, Blending blending,
      CartesianPose anchor, long now) {
    Layer free = null;
    if (blending.mode() == Blending.Mode.NONE) {
      for (Layer layer : layers) {
        layer.active = false;
      }
      free = layers[0];
    } else {
      for (Layer layer : layers) {
        if (!layer.active) {
          free = layer;
          break;
        }
      }
      if (free == null) {
        return false;
      }
    }
    long period = chunk.stepPeriodNanos();
    switch (blending.mode()) {
      case NONE -> { }
      case LINEAR_CROSSFADE -> {
        for (Layer layer : layers) {
          if (layer.active && !layer.rampOutScheduled()) {
            layer.rampOutStart = now;
            layer.rampOutNanos = blending.blendTimeNanos();
          } else if (layer.active && layer.rampOutStart > now) {
            // Scheduled but not started: moving the start earlier is still continuous.
            layer.rampOutStart = now;
            layer.rampOutNanos = Math.min(layer.rampOutNanos, blending.blendTimeNanos());
          }
        }
      }
      case EXPONENTIAL -> {
        double steps = newest == null || newest.hold
            ? 0 : Math.max(0, chunk.observationNanos() - newest.trajectory.observationNanos()) / (double) period;
        double factor = Math.exp(-blending.decay() * steps);
        for (Layer layer : layers) {
          if (!layer.active) {
            continue;
          }
          layer.baseWeight *= factor;
          if (!layer.rampOutScheduled()) {
            // A hold has no horizon: it fades as the new chunk fades in.
            long end = layer.hold ? now : layer.trajectory.endNanos() - layer.trajectory.periodNanos();
            layer.rampOutStart = Math.max(end, now);
            layer.rampOutNanos = layer.hold ? period : layer.trajectory.periodNanos();
          }
        }
        rescaleIfTiny();
      }
    }
    free.trajectory.build(chunk, firstStep, anchor, now, interpolation);
    free.active = true;
    free.hold = false;
    free.sequence = ++sequence;
    free.baseWeight = 1;
    free.rampInStart = now;
    free.rampInNanos = switch (blending.mode()) {
      case NONE -> 0;
      case LINEAR_CROSSFADE -> blending.blendTimeNanos();
      case EXPONENTIAL -> period;
    };
    free.rampOutStart = Long.MAX_VALUE;
    free.rampOutNanos = 0;
    newest = free;
    fadeOldestBeyondCapacity(now, period);
    return true;
  }

  /**
   * Replaces every layer with steps {@code firstStep..} of {@code chunk}, started at {@code now} from
   * {@code anchor} with the motion {@code entry}: a splice, with no crossfade, for a chunk that
   * continues the motion executing (a committed prefix's continuation, on time).
   */
  public void splice(ActionChunk chunk, int firstStep, Interpolation interpolation, CartesianPose anchor,
      EntryState entry, long now) {
    for (Layer layer : layers) {
      layer.active = false;
    }
    layers[0].trajectory.build(chunk, firstStep, anchor, now, interpolation, entry);
    takeOverAtOnce(layers[0], false, now);
  }

  /** Keeps the newest layer's weight at 1 so repeated decay factors never underflow to zero. */
  private void rescaleIfTiny() {
    double largest = 0;
    for (Layer layer : layers) {
      if (layer.active) {
        largest = Math.max(largest, layer.baseWeight);
      }
    }
    if (largest > 0 && largest < 1e-100) {
      for (Layer layer : layers) {
        layer.baseWeight /= largest;
      }
    }
  }

  private void fadeOldestBeyondCapacity(long now, long period) {
    int live = 0;
    Layer oldest = null;
    for (Layer layer : layers) {
      if (layer.active && !(layer.rampOutScheduled() && layer.rampOutStart <= now)) {
        live++;
        if (layer != newest && (oldest == null || layer.sequence < oldest.sequence)) {
          oldest = layer;
        }
      }
    }
    if (live > maxLiveLayers - 1 && oldest != null) {
      oldest.rampOutStart = now;
      oldest.rampOutNanos = period;
    }
  }

  /** Writes the blended reference at {@code now} into {@code out} and frees layers that have faded out. */
  public void evaluate(long now, CartesianPose out) {
    double total = 0;
    double x = 0;
    double y = 0;
    double z = 0;
    double g = 0;
    boolean first = true;
    for (Layer layer : layers) {
      if (!layer.active) {
        continue;
      }
      if (layer != newest && layer.finished(now)) {
        layer.active = false;
        continue;
      }
      double weight = layer.weight(now);
      if (weight <= 0) {
        continue;
      }
      layer.trajectory.evaluate(now, scratch);
      total += weight;
      x += weight * scratch.position[0];
      y += weight * scratch.position[1];
      z += weight * scratch.position[2];
      g += weight * scratch.gripper;
      if (first) {
        System.arraycopy(scratch.orientation, 0, blendedOrientation, 0, 4);
        first = false;
      } else {
        Quaternions.slerp(blendedOrientation, scratch.orientation, weight / total, blendedOrientation);
      }
    }
    if (total <= 0) {
      // Only reachable if the newest layer is still at ramp-in weight 0 with nothing else left:
      // then the newest trajectory is the blend.
      newest.trajectory.evaluate(now, out);
      return;
    }
    out.position[0] = x / total;
    out.position[1] = y / total;
    out.position[2] = z / total;
    out.gripper = g / total;
    System.arraycopy(blendedOrientation, 0, out.orientation, 0, 4);
  }

  /** Returns whether the newest layer is a hold rather than a chunk. */
  public boolean holding() {
    return newest == null || newest.hold;
  }

  /** Returns the newest chunk's trajectory; meaningful only when {@link #holding()} is false. */
  public ChunkTrajectory newest() {
    return newest.trajectory;
  }

  /** Returns how many layers are active; for tests and diagnostics. */
  public int activeLayers() {
    int count = 0;
    for (Layer layer : layers) {
      if (layer.active) {
        count++;
      }
    }
    return count;
  }
}

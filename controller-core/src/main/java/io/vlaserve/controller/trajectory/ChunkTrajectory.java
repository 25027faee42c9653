package io.vlaserve.controller.trajectory;

import io.vlaserve.controller.ActionChunk;
import io.vlaserve.controller.CartesianPose;

/**
 * The absolute end-effector trajectory of one chunk: its deltas integrated from an anchor pose into
 * waypoints one step period apart, and interpolated between them.
 *
 * <p><b>Anchoring.</b> A chunk's deltas are relative to the pose the policy saw. The bridge
 * integrates them from the <em>commanded</em> pose at the moment the chunk's first executed step
 * applies (see {@code RobotController}), not from the robot state at observation time: the steps
 * that elapsed while the policy was thinking are skipped, and the remaining deltas continue from
 * where the robot actually is, exactly as a delta policy trained at its control rate would have
 * them applied. Waypoint {@code i} (0-based from the first executed step) is reached at
 * {@code start + i * stepPeriod}.
 *
 * <p><b>Between waypoints</b> positions follow the chosen {@link Interpolation}; tangents are
 * Catmull-Rom ({@code (p[i+1] - p[i-1]) / 2T}) inside and one-sided at both ends. Orientation is
 * slerped ({@link Interpolation#LINEAR}) or, for the smooth kinds, interpolated as a rotation
 * vector relative to the anchor orientation with the same spline, then mapped back by the
 * exponential map. The gripper never overshoots: linear, or eased with zero tangents.
 *
 * <p><b>Splicing.</b> Built with an {@link EntryState}, the first segment starts with the given
 * velocity (and, for {@link Interpolation#MINIMUM_JERK}, acceleration) instead of the one-sided
 * tangent: the trajectory continues the executing motion at the seam with no crossfade, as a
 * chunk decoded after a committed prefix is meant to.
 *
 * <p><b>After the last waypoint</b> the trajectory continues at its final velocity (orientation at
 * its final angular velocity, gripper held): a chunk's end is not a stop. It bridges a late chunk
 * without stop-and-go; the controller's watchdog bounds how long.
 *
 * <p>A reusable buffer sized once for the longest chunk: {@link #build} and {@link #evaluate}
 * allocate nothing. Not thread-safe.
 */
public final class ChunkTrajectory {
  private final int capacity;
  private final double[] position;
  private final double[] positionTangent;
  private final double[] rotation;
  private final double[] rotationTangent;
  private final double[] quaternion;
  private final double[] gripper;
  private final double[] base = new double[4];
  private final double[] finalAngularVelocity = new double[3];
  private final double[] scratchQuaternion = new double[4];
  private final double[] scratchVector = new double[3];
  private final double[] entryAcceleration = new double[3];
  private final double[] entryAngularAcceleration = new double[3];
  private boolean spliced;

  private int waypoints;
  private long startNanos;
  private long periodNanos;
  private double periodSeconds;
  private Interpolation interpolation = Interpolation.LINEAR;
  private long chunkId;
  private long observationNanos;
  private int firstStep;
  private int chunkFirstStep;

  /** Creates a buffer for chunks of up to {@code maxSteps} steps. */
  public ChunkTrajectory(int maxSteps) {
    if (maxSteps < 1) {
      throw new IllegalArgumentException("maxSteps: " + maxSteps + " (expected: >= 1)");
    }
    capacity = maxSteps + 1;
    position = new double[capacity * 3];
    positionTangent = new double[capacity * 3];
    rotation = new double[capacity * 3];
    rotationTangent = new double[capacity * 3];
    quaternion = new double[capacity * 4];
    gripper = new double[capacity];
  }

  /**
   * Integrates steps {@code firstStep..H-1} of {@code chunk} from {@code anchor} and makes the
   * trajectory start at {@code startNanos}.
   *
   * @throws IllegalArgumentException if no step is left or the chunk is longer than the buffer
   */
  public void build(ActionChunk chunk, int firstStep, CartesianPose anchor, long startNanos,
      Interpolation interpolation) {
    build(chunk, firstStep, anchor, startNanos, interpolation, null);
  }

  /**
   * Integrates steps {@code firstStep..H-1} of {@code chunk} from {@code anchor}, starting at
   * {@code startNanos} with the motion {@code entry} (null: the one-sided tangent, as a new motion).
   *
   * @throws IllegalArgumentException if no step is left or the chunk is longer than the buffer
   */
  public void build(ActionChunk chunk, int firstStep, CartesianPose anchor, long startNanos,
      Interpolation interpolation, EntryState entry) {
    int steps = chunk.steps() - firstStep;
    if (firstStep < 0 || steps < 1 || steps + 1 > capacity) {
      throw new IllegalArgumentException("steps " + firstStep + ".." + (chunk.steps() - 1)
          + " (expected: at least one and at most " + (capacity - 1) + ")");
    }
    this.chunkId = chunk.chunkId();
    this.observationNanos = chunk.observationNanos();
    this.firstStep = firstStep;
    this.chunkFirstStep = chunk.firstStep();
    this.startNanos = startNanos;
    this.periodNanos = chunk.stepPeriodNanos();
    this.periodSeconds = periodNanos * 1e-9;
    this.interpolation = interpolation;
    this.waypoints = steps + 1;

    setWaypoint(0, anchor.position, anchor.orientation, anchor.gripper);
    Quaternions.normalize(base);
    System.arraycopy(base, 0, quaternion, 0, 4);
    rotation[0] = 0;
    rotation[1] = 0;
    rotation[2] = 0;
    for (int i = 1; i < waypoints; i++) {
      int step = firstStep + i - 1;
      for (int axis = 0; axis < 3; axis++) {
        position[i * 3 + axis] = position[(i - 1) * 3 + axis] + chunk.value(step, axis);
      }
      Quaternions.fromRollPitchYaw(chunk.value(step, 3), chunk.value(step, 4), chunk.value(step, 5),
          scratchQuaternion);
      // Extrinsic increments act in the world frame: they multiply on the left.
      for (int k = 0; k < 4; k++) {
        quaternion[i * 4 + k] = quaternion[(i - 1) * 4 + k];
      }
      multiplyInto(scratchQuaternion, i);
      unwrappedRotation(i);
      gripper[i] = chunk.value(step, 6);
    }
    computeTangents(position, positionTangent);
    computeTangents(rotation, rotationTangent);
    spliced = entry != null;
    if (spliced) {
      for (int axis = 0; axis < 3; axis++) {
        positionTangent[axis] = entry.velocity[axis];
        rotationTangent[axis] = entry.angularVelocity[axis];
        entryAcceleration[axis] = entry.acceleration[axis];
        entryAngularAcceleration[axis] = entry.angularAcceleration[axis];
      }
    }
    if (waypoints >= 2) {
      relativeRotation(waypoints - 1, waypoints - 2, scratchVector);
      for (int axis = 0; axis < 3; axis++) {
        finalAngularVelocity[axis] = scratchVector[axis] / periodSeconds;
      }
    }
  }

  /** Makes this a trajectory that holds {@code pose} forever from {@code startNanos}. */
  public void buildHold(CartesianPose pose, long startNanos) {
    this.chunkId = 0;
    this.observationNanos = startNanos;
    this.firstStep = 0;
    this.chunkFirstStep = 0;
    this.spliced = false;
    this.startNanos = startNanos;
    this.periodNanos = 1;
    this.periodSeconds = 1e-9;
    this.interpolation = Interpolation.LINEAR;
    this.waypoints = 1;
    setWaypoint(0, pose.position, pose.orientation, pose.gripper);
    Quaternions.normalize(base);
    System.arraycopy(base, 0, quaternion, 0, 4);
    for (int axis = 0; axis < 3; axis++) {
      rotation[axis] = 0;
      positionTangent[axis] = 0;
      rotationTangent[axis] = 0;
      finalAngularVelocity[axis] = 0;
    }
  }

  private void setWaypoint(int index, double[] p, double[] q, double g) {
    System.arraycopy(p, 0, position, index * 3, 3);
    System.arraycopy(q, 0, base, 0, 4);
    gripper[index] = g;
  }

  private void multiplyInto(double[] left, int index) {
    int o = index * 4;
    double bx = quaternion[o];
    double by = quaternion[o + 1];
    double bz = quaternion[o + 2];
    double bw = quaternion[o + 3];
    double x = left[3] * bx + left[0] * bw + left[1] * bz - left[2] * by;
    double y = left[3] * by - left[0] * bz + left[1] * bw + left[2] * bx;
    double z = left[3] * bz + left[0] * by - left[1] * bx + left[2] * bw;
    double w = left[3] * bw - left[0] * bx - left[1] * by - left[2] * bz;
    // Renormalise: thousands of products would otherwise drift off the unit sphere.
    double inverse = 1.0 / Math.sqrt(x * x + y * y + z * z + w * w);
    quaternion[o] = x * inverse;
    quaternion[o + 1] = y * inverse;
    quaternion[o + 2] = z * inverse;
    quaternion[o + 3] = w * inverse;
  }

  /**
   * Sets rotation vector {@code index} (waypoint orientation relative to the anchor) on the branch
   * closest to the previous one, so the interpolated curve never jumps by 2 pi when the cumulative
   * rotation passes pi.
   */
  private void unwrappedRotation(int index) {
    for (int k = 0; k < 4; k++) {
      scratchQuaternion[k] = quaternion[index * 4 + k];
    }
    Quaternions.multiplyConjugate(scratchQuaternion, base, scratchQuaternion);
    Quaternions.toRotationVector(scratchQuaternion, scratchVector);
    double angle = Math.sqrt(scratchVector[0] * scratchVector[0] + scratchVector[1] * scratchVector[1]
        + scratchVector[2] * scratchVector[2]);
    int o = index * 3;
    if (angle > 1e-12) {
      double ux = scratchVector[0] / angle;
      double uy = scratchVector[1] / angle;
      double uz = scratchVector[2] / angle;
      // (angle + 2 pi k) u is the same rotation for every integer k: take the one nearest the previous.
      double along = rotation[o - 3] * ux + rotation[o - 2] * uy + rotation[o - 1] * uz;
      double turns = Math.rint((along - angle) / (2 * Math.PI));
      double unwrapped = angle + 2 * Math.PI * turns;
      rotation[o] = ux * unwrapped;
      rotation[o + 1] = uy * unwrapped;
      rotation[o + 2] = uz * unwrapped;
    } else {
      rotation[o] = scratchVector[0];
      rotation[o + 1] = scratchVector[1];
      rotation[o + 2] = scratchVector[2];
    }
  }

  /** Writes the rotation vector of waypoint {@code to} relative to waypoint {@code from} into {@code out}. */
  private void relativeRotation(int to, int from, double[] out) {
    double[] q = scratchQuaternion;
    double ax = quaternion[to * 4];
    double ay = quaternion[to * 4 + 1];
    double az = quaternion[to * 4 + 2];
    double aw = quaternion[to * 4 + 3];
    double bx = -quaternion[from * 4];
    double by = -quaternion[from * 4 + 1];
    double bz = -quaternion[from * 4 + 2];
    double bw = quaternion[from * 4 + 3];
    q[0] = aw * bx + ax * bw + ay * bz - az * by;
    q[1] = aw * by - ax * bz + ay * bw + az * bx;
    q[2] = aw * bz + ax * by - ay * bx + az * bw;
    q[3] = aw * bw - ax * bx - ay * by - az * bz;
    Quaternions.toRotationVector(q, out);
  }

  private void computeTangents(double[] values, double[] tangents) {
    int last = waypoints - 1;
    for (int i = 0; i <= last; i++) {
      for (int axis = 0; axis < 3; axis++) {
        double tangent;
        if (last == 0) {
          tangent = 0;
        } else if (i == 0) {
          tangent = (values[3 + axis] - values[axis]) / periodSeconds;
        } else if (i == last) {
          tangent = (values[i * 3 + axis] - values[(i - 1) * 3 + axis]) / periodSeconds;
        } else {
          tangent = (values[(i + 1) * 3 + axis] - values[(i - 1) * 3 + axis]) / (2 * periodSeconds);
        }
        tangents[i * 3 + axis] = tangent;
      }
    }
  }

  /** Writes the target at loop-clock time {@code nanos} into {@code out}; before the start, the anchor. */
  public void evaluate(long nanos, CartesianPose out) {
    long elapsed = Math.max(0, nanos - startNanos);
    int last = waypoints - 1;
    long segment = elapsed / periodNanos;
    if (segment >= last) {
      extrapolate((elapsed - (long) last * periodNanos) * 1e-9, out);
      return;
    }
    int i = (int) segment;
    double s = (elapsed - segment * periodNanos) / (double) periodNanos;
    double g0 = gripper[i];
    double g1 = gripper[i + 1];
    switch (interpolation) {
      case LINEAR -> {
        for (int axis = 0; axis < 3; axis++) {
          double p0 = position[i * 3 + axis];
          out.position[axis] = p0 + (position[(i + 1) * 3 + axis] - p0) * s;
        }
        slerpWaypoints(i, s, out.orientation);
        out.gripper = g0 + (g1 - g0) * s;
      }
      case CUBIC -> {
        for (int axis = 0; axis < 3; axis++) {
          int a = i * 3 + axis;
          out.position[axis] = Splines.cubic(position[a], positionTangent[a] * periodSeconds,
              position[a + 3], positionTangent[a + 3] * periodSeconds, s);
          scratchVector[axis] = Splines.cubic(rotation[a], rotationTangent[a] * periodSeconds,
              rotation[a + 3], rotationTangent[a + 3] * periodSeconds, s);
        }
        rotationToOrientation(scratchVector, out.orientation);
        out.gripper = g0 + (g1 - g0) * Splines.smoothstep(s);
      }
      case MINIMUM_JERK -> {
        double squaredPeriod = periodSeconds * periodSeconds;
        for (int axis = 0; axis < 3; axis++) {
          int a = i * 3 + axis;
          // Only a spliced trajectory's first segment starts accelerating: it takes over a motion.
          double startAcceleration = spliced && i == 0 ? entryAcceleration[axis] * squaredPeriod : 0;
          double startAngularAcceleration = spliced && i == 0 ? entryAngularAcceleration[axis] * squaredPeriod : 0;
          out.position[axis] = Splines.quintic(position[a], positionTangent[a] * periodSeconds, startAcceleration,
              position[a + 3], positionTangent[a + 3] * periodSeconds, s);
          scratchVector[axis] = Splines.quintic(rotation[a], rotationTangent[a] * periodSeconds,
              startAngularAcceleration, rotation[a + 3], rotationTangent[a + 3] * periodSeconds, s);
        }
        rotationToOrientation(scratchVector, out.orientation);
        out.gripper = g0 + (g1 - g0) * Splines.minimumJerk(s);
      }
    }
  }

  private void extrapolate(double seconds, CartesianPose out) {
    int last = waypoints - 1;
    for (int axis = 0; axis < 3; axis++) {
      out.position[axis] = position[last * 3 + axis] + positionTangent[last * 3 + axis] * seconds;
    }
    if (interpolation == Interpolation.LINEAR) {
      Quaternions.fromRotationVector(finalAngularVelocity[0] * seconds, finalAngularVelocity[1] * seconds,
          finalAngularVelocity[2] * seconds, scratchQuaternion);
      for (int k = 0; k < 4; k++) {
        out.orientation[k] = quaternion[last * 4 + k];
      }
      Quaternions.multiply(scratchQuaternion, out.orientation, out.orientation);
    } else {
      for (int axis = 0; axis < 3; axis++) {
        scratchVector[axis] = rotation[last * 3 + axis] + rotationTangent[last * 3 + axis] * seconds;
      }
      rotationToOrientation(scratchVector, out.orientation);
    }
    out.gripper = gripper[last];
  }

  private void slerpWaypoints(int i, double s, double[] out) {
    double[] a = scratchQuaternion;
    for (int k = 0; k < 4; k++) {
      a[k] = quaternion[i * 4 + k];
      out[k] = quaternion[(i + 1) * 4 + k];
    }
    Quaternions.slerp(a, out, s, out);
  }

  private void rotationToOrientation(double[] rotationVector, double[] out) {
    Quaternions.fromRotationVector(rotationVector[0], rotationVector[1], rotationVector[2], scratchQuaternion);
    Quaternions.multiply(scratchQuaternion, base, out);
  }

  /** Returns the loop-clock time of the last waypoint. */
  public long endNanos() {
    return startNanos + (long) (waypoints - 1) * periodNanos;
  }

  /** Returns the loop-clock time of the first waypoint. */
  public long startNanos() {
    return startNanos;
  }

  /** Returns the step period, nanoseconds. */
  public long periodNanos() {
    return periodNanos;
  }

  /** Returns the chunk's identifier (0 for a hold). */
  public long chunkId() {
    return chunkId;
  }

  /** Returns the observation time of the chunk (the start time for a hold). */
  public long observationNanos() {
    return observationNanos;
  }

  /** Returns the number of waypoints, including the anchor. */
  public int waypoints() {
    return waypoints;
  }

  /**
   * Returns the step being executed at {@code nanos}, numbered in the chunk the policy decoded (a
   * continuation's first step is the committed prefix's length); the step count once past the end.
   */
  public int stepIndex(long nanos) {
    long segment = Math.max(0, nanos - startNanos) / periodNanos;
    return chunkFirstStep + firstStep + (int) Math.min(segment, waypoints - 1);
  }

  /** Returns whether this trajectory was spliced onto the motion before it rather than blended. */
  public boolean spliced() {
    return spliced;
  }

  /** Returns the fraction (0..1) of the current step done at {@code nanos}; 0 once past the end. */
  public double stepFraction(long nanos) {
    long elapsed = Math.max(0, nanos - startNanos);
    if (elapsed >= (long) (waypoints - 1) * periodNanos) {
      return 0;
    }
    return (elapsed % periodNanos) / (double) periodNanos;
  }

  /** Copies waypoint {@code index}'s position into {@code out}; for tests and diagnostics. */
  public void waypointPosition(int index, double[] out) {
    System.arraycopy(position, index * 3, out, 0, 3);
  }

  /** Copies waypoint {@code index}'s orientation into {@code out}; for tests and diagnostics. */
  public void waypointOrientation(int index, double[] out) {
    System.arraycopy(quaternion, index * 4, out, 0, 4);
  }
}

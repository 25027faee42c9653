package io.vlaserve.sim;

/**
 * What happened during one {@link TabletopWorld#step} or {@link TabletopWorld#commandPose} call.
 *
 * <p>All combinations are interned, so {@link #of} never allocates: stepping stays garbage-free.
 * Immutable and thread-safe.
 *
 * @param actionClamped a command exceeded its bound (per-step deltas, gripper range) and was clamped
 * @param workspaceClamped the commanded TCP position lay outside the workspace box and was clamped
 *     to it
 * @param supportClamped the TCP was raised so that the carried block stays on or above the surface
 *     beneath it
 * @param gripperEvent what the gripper did
 */
public record StepResult(
    boolean actionClamped,
    boolean workspaceClamped,
    boolean supportClamped,
    GripperEvent gripperEvent) {

  private static final StepResult[] INTERNED = new StepResult[8 * GripperEvent.values().length];

  static {
    for (GripperEvent event : GripperEvent.values()) {
      for (int flags = 0; flags < 8; flags++) {
        INTERNED[event.ordinal() * 8 + flags] =
            new StepResult((flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0, event);
      }
    }
  }

  /** Returns the interned result with these values. */
  public static StepResult of(
      boolean actionClamped, boolean workspaceClamped, boolean supportClamped, GripperEvent event) {
    int flags = (actionClamped ? 1 : 0) | (workspaceClamped ? 2 : 0) | (supportClamped ? 4 : 0);
    return INTERNED[event.ordinal() * 8 + flags];
  }

  /** Returns whether any kind of clamping happened. */
  public boolean clamped() {
    return actionClamped || workspaceClamped || supportClamped;
  }
}

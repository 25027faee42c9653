package io.vlaserve.controller.safety;

/**
 * One intervention of the controller, with a sentence a person can act on.
 *
 * <p>Clamps are reported once per episode: when a limit on an axis starts binding, not on every
 * tick it stays binding. Halts, e-stops, watchdog holds and link losses are reported each time.
 * Immutable and thread-safe.
 *
 * @param robotId the robot
 * @param timeNanos loop-clock time of the tick that intervened
 * @param tick that tick's number since the controller started
 * @param kind which limit or condition
 * @param action what the controller did
 * @param axis the degree of freedom concerned
 * @param requested the value requested, in the limit's unit (0 when not applicable)
 * @param limit the limit it broke (0 when not applicable)
 * @param chunkId the chunk executing (0 for none)
 * @param message what happened and what to do about it
 */
public record SafetyEvent(
    String robotId,
    long timeNanos,
    long tick,
    SafetyEventKind kind,
    SafetyAction action,
    Axis axis,
    double requested,
    double limit,
    long chunkId,
    String message) {}

/**
 * The safety gate every setpoint passes ({@link io.vlaserve.controller.safety.SafetyGate}), the limits
 * it enforces ({@link io.vlaserve.controller.safety.SafetyLimits}), and the events it reports
 * ({@link io.vlaserve.controller.safety.SafetyEvent}, queued allocation-free by
 * {@link io.vlaserve.controller.safety.SafetyEventLog}). {@link io.vlaserve.controller.safety.SafeSetpoint}
 * can only be made here, and is the only thing a robot driver accepts.
 */
package io.vlaserve.controller.safety;

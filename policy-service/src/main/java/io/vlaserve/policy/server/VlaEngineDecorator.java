package io.vlaserve.policy.server;

import io.vlaserve.policy.engine.VlaEngine;
import java.util.function.UnaryOperator;

/**
 * Wraps the selected inference engine, e.g. to trace or meter every graph run. Declare one as a
 * bean; without one the engine is used as selected. {@link io.vlaserve.policy.engine.ForwardingVlaEngine}
 * forwards every call, so a decorator overrides only what it changes.
 */
@FunctionalInterface
public interface VlaEngineDecorator extends UnaryOperator<VlaEngine> {}

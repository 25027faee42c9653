package io.vlaserve.controller.messages;

import io.vlaserve.controller.trajectory.Blending;
import io.vlaserve.controller.trajectory.Interpolation;
import java.time.Duration;

/**
 * What an Execute stream gets for each setting its {@code ExecuteStart} leaves unspecified (the
 * bridge's {@code vla.controller.execution.*}).
 */
public record ExecutionDefaults(Interpolation interpolation, Blending.Mode blending, Duration blendTime,
    double blendDecay) {}

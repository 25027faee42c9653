package io.vlaserve.planner.gateway;

import io.vlaserve.planning.Planner;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;

/** What every robot session uses: channels, planner, executors, registry, metrics, settings. */
record SessionServices(
    GatewayConfiguration.ServiceChannels channels,
    Planner planner,
    ExecutorService planningExecutor,
    ScheduledExecutorService timer,
    SessionRegistry registry,
    GatewayMetrics metrics,
    GatewayProperties properties) {}

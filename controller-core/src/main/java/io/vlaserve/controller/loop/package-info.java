/**
 * The real-time loop: a dedicated platform thread ticking on deadlines
 * ({@link io.vlaserve.controller.loop.ControlLoop}), its injectable time source and wait strategy
 * ({@link io.vlaserve.controller.loop.LoopClock}), and its period/compute statistics
 * ({@link io.vlaserve.controller.loop.LoopStatistics}).
 */
package io.vlaserve.controller.loop;

/**
 * From action chunks to a reference pose per tick: integration of a chunk's deltas into absolute
 * waypoints ({@link io.vlaserve.controller.trajectory.ChunkTrajectory}), interpolation between them
 * ({@link io.vlaserve.controller.trajectory.Interpolation}, {@link io.vlaserve.controller.trajectory.Splines},
 * {@link io.vlaserve.controller.trajectory.Quaternions}), and the blend of overlapping chunks
 * ({@link io.vlaserve.controller.trajectory.TrajectoryBlender}, {@link io.vlaserve.controller.trajectory.Blending}).
 * Nothing here knows about limits: the safety gate comes after.
 */
package io.vlaserve.controller.trajectory;

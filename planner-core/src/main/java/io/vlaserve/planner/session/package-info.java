/**
 * A robot session as a plain state machine: plan, subgoal, budgets, replans, halts and outcome, with
 * no transport, threads or timers. The planner-gateway's {@code RobotSession} is its adapter: it
 * turns stream messages into events and carries out the {@link io.vlaserve.planner.session.SessionEffect}s
 * each event returns.
 *
 * <p>How a session flows:
 *
 * <ol>
 *   <li>The robot is admitted ({@link io.vlaserve.planner.session.SessionMachine#admitted}); the
 *       adapter asks the policy for its skills and the planner for a plan, then calls {@code
 *       started}: open execution at the bridge, announce the plan, start subgoal 1, open the
 *       policy session.
 *   <li>Observations go to the policy while {@code acceptsObservations()}; each is tagged with the
 *       instruction epoch, and its chunk executes only if {@code executes(epoch)} still holds.
 *   <li>The robot's signals complete or fail the running subgoal. A failure, or a budget run out at
 *       a {@code tick()}, asks for a {@code Replan} while replans are left; its plan comes back
 *       through {@code replanned}.
 *   <li>The session ends once: every subgoal done, replans used up, the planner, the bridge or the
 *       policy failing for good, the robot cancelling or leaving, a refusal or a shutdown ({@link
 *       io.vlaserve.planner.session.SessionEnding}). Events after that change nothing.
 * </ol>
 *
 * <p>A running or replanning session can move to another gateway replica: {@link
 * io.vlaserve.planner.session.SessionMachine#snapshot} keeps its progress as a {@link
 * io.vlaserve.planner.session.SessionSnapshot} (durations, never a clock reading), {@link
 * io.vlaserve.planner.session.SessionSnapshotCodec} carries that in bytes, and {@link
 * io.vlaserve.planner.session.SessionMachine#restore} goes on with the same subgoal there, reopening
 * only the links to the services. Signing those bytes into a token the robot holds is {@code
 * io.vlaserve.planner.resume}'s job.
 *
 * <p>Time is one injected monotonic clock in nanoseconds; tests move it by hand.
 */
package io.vlaserve.planner.session;

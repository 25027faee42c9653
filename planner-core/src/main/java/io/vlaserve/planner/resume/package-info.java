/**
 * Resume tokens: a session's {@link io.vlaserve.planner.session.SessionSnapshot}, signed, held by
 * its robot, so that any gateway replica with the keys can resume the session after a restart or
 * a rolling update, with no shared database.
 *
 * <p>How a resume goes (the gateway's wiring, not in this package):
 *
 * <ol>
 *   <li>The gateway gives the robot a token in {@code SessionAccepted.resume_token} and a fresh one
 *       at every subgoal change ({@link io.vlaserve.planner.resume.ResumeTokens#issue}); each
 *       carries the connection epoch the robot is on.
 *   <li>A robot reconnecting presents its latest token. The replica it reaches checks it ({@link
 *       io.vlaserve.planner.resume.ResumeTokens#verify}: genuine, current, this robot's), claims it
 *       in its {@link io.vlaserve.planner.resume.ResumeLedger}, restores the machine ({@code
 *       SessionMachine.restore}) on connection epoch + 1, opens the robot's Execute stream at the
 *       controller bridge, and only then answers with a token for the new epoch.
 *   <li>Any refusal is a clear status and a fresh start for the robot, never someone else's session.
 * </ol>
 *
 * <p><b>Replay protection without shared storage.</b> A token is meant to resume its session once
 * per connection epoch. Two things enforce it, neither shared between replicas:
 *
 * <ul>
 *   <li>On one replica, the ledger remembers per session the highest epoch it resumed from, as
 *       long as tokens of that epoch can verify; a second claim of that epoch or an older one is
 *       refused ({@code REPLAYED}).
 *   <li>Across replicas, the controller bridge admits one Execute stream per robot ({@code
 *       RobotBusyException}): of two resumes of the same token racing on two replicas, one holds
 *       the robot and the other fails to open execution, and must then end without taking the
 *       session. The token's robot id is checked against the caller, so a token is only ever worth
 *       something to its own robot.
 * </ul>
 *
 * What this does not stop: once a resumed connection has ended and released the robot, an older
 * token replayed at another replica that never saw it resumes the older state, until that token
 * expires. The token lifetime bounds that window; closing it needs the one owner of the robot to
 * remember epochs: the bridge refusing an Execute open whose connection epoch is not above the
 * last one it admitted for that robot.
 *
 * <p><b>Keys.</b> HMAC-SHA256 with keys every replica reads from the same Secret ({@link
 * io.vlaserve.planner.resume.KeyRing#fromDirectory}). Rotation: add the new key, then sign with it
 * once every replica holds it, then remove the old one after a token lifetime; a token signed with
 * a removed key is refused as {@code UNKNOWN_KEY}.
 *
 * <p>Time is an injected {@link java.time.Clock}: a wall clock, since tokens cross replicas whose
 * monotonic clocks share no origin.
 */
package io.vlaserve.planner.resume;

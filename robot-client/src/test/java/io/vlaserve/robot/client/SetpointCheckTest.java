package io.vlaserve.robot.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Timestamp;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.controller.v1.AxisLimit;
import io.vlaserve.controller.v1.LimitMode;
import io.vlaserve.controller.v1.OrientationLimit;
import io.vlaserve.controller.v1.SafetyLimits;
import io.vlaserve.controller.v1.Setpoint;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The agent's own setpoint check, without any transport: one rule per test, the refusal's field and value named. */
class SetpointCheckTest {
  /** 1 kHz, as the bridge sends them. */
  static final long TICK_NANOS = 1_000_000;

  /** Box [0.25, 0.75] x [-0.3, 0.3] x [0.01, 0.35] m, 1 m/s per axis, 5 rad/s. */
  static SafetyLimits limits(double linear, double angular) {
    AxisLimit any = AxisLimit.newBuilder().setMax(100).setMode(LimitMode.LIMIT_MODE_CLAMP).build();
    return SafetyLimits.newBuilder()
        .setRobotId("arm-7")
        .setWorkspaceMin(Vector3.newBuilder().setX(0.25).setY(-0.3).setZ(0.01))
        .setWorkspaceMax(Vector3.newBuilder().setX(0.75).setY(0.3).setZ(0.35))
        .setWorkspaceMode(LimitMode.LIMIT_MODE_CLAMP)
        .setMaxLinearVelocity(AxisLimit.newBuilder().setMax(linear).setMode(LimitMode.LIMIT_MODE_CLAMP))
        .setMaxLinearAcceleration(any)
        .setMaxLinearJerk(any)
        .setMaxAngularVelocity(AxisLimit.newBuilder().setMax(angular).setMode(LimitMode.LIMIT_MODE_CLAMP))
        .setMaxGripperRate(any)
        .build();
  }

  static final SafetyLimits LIMITS = limits(1.0, 5.0);

  /** Setpoint {@code sequence} at {@code sequence} ms, identity orientation turned {@code yaw} rad about z. */
  static Setpoint setpoint(long sequence, double x, double y, double z, double yaw, double gripper) {
    long nanos = 1_700_000_000_000_000_000L + sequence * TICK_NANOS;
    return Setpoint.newBuilder()
        .setSequence(sequence)
        .setTime(Timestamp.newBuilder().setSeconds(nanos / 1_000_000_000L).setNanos((int) (nanos % 1_000_000_000L)))
        .setTarget(Pose.newBuilder()
            .setPosition(Vector3.newBuilder().setX(x).setY(y).setZ(z))
            .setOrientation(Quaternion.newBuilder().setZ(Math.sin(yaw / 2)).setW(Math.cos(yaw / 2))))
        .setGripper(gripper)
        .build();
  }

  static Setpoint at(long sequence, double x) {
    return setpoint(sequence, x, 0, 0.2, 0, 1);
  }

  private final SetpointCheck check = new SetpointCheck();

  private SetpointCheck.Refusal refused(Setpoint setpoint) {
    SetpointCheck.Refusal refusal = check.check(setpoint);
    assertNotNull(refusal, "refused: " + setpoint);
    assertEquals(setpoint.getSequence(), refusal.sequence());
    return refusal;
  }

  @Test
  void beforeAnyLimitsEverySetpointIsRefused() {
    SetpointCheck.Refusal refusal = refused(at(1, 0.5));
    assertEquals("limits", refusal.field());
    assertTrue(refusal.reason().startsWith("no safety limits announced on this link yet"), refusal.reason());
    assertNull(check.announce(LIMITS));
    assertNull(check.check(at(2, 0.5)));
    check.forgetLimits();
    assertEquals("limits", refused(at(3, 0.5)).field());
  }

  @Test
  void unusableLimitsAreNamedAndRefuseEverySetpoint() {
    String problem = check.announce(LIMITS.toBuilder()
        .setMaxLinearVelocity(AxisLimit.newBuilder().setMax(Double.NaN)).build());
    assertEquals("limits.max_linear_velocity.max = NaN: the bridge announced unusable safety limits (expected: a"
        + " finite number > 0, m/s); every setpoint is refused until usable limits arrive", problem);
    SetpointCheck.Refusal refusal = refused(at(1, 0.5));
    assertEquals("limits.max_linear_velocity.max", refusal.field());
    assertNull(check.announce(LIMITS));
    assertNull(check.check(at(2, 0.5)));
  }

  @Nested
  class EachSetpoint {
    {
      check.announce(LIMITS);
    }

    @Test
    void aNanOrInfinityAnywhereIsRefused() {
      SetpointCheck.Refusal nan = refused(at(1, Double.NaN));
      assertEquals("target.position.x", nan.field());
      assertTrue(Double.isNaN(nan.value()));
      assertEquals("not a finite number", nan.reason());
      assertEquals("target.position.z", refused(setpoint(2, 0.5, 0, Double.POSITIVE_INFINITY, 0, 1)).field());
      assertEquals("target.orientation.w", refused(at(3, 0.5).toBuilder().setTarget(at(3, 0.5).getTarget()
          .toBuilder().setOrientation(Quaternion.newBuilder().setW(Double.NaN))).build()).field());
      assertEquals("gripper", refused(setpoint(4, 0.5, 0, 0.2, 0, Double.NaN)).field());
    }

    @Test
    void anOrientationThatIsNotAUnitQuaternionIsRefused() {
      Setpoint scaled = at(1, 0.5).toBuilder().setTarget(at(1, 0.5).getTarget().toBuilder()
          .setOrientation(Quaternion.newBuilder().setW(1.001))).build();
      SetpointCheck.Refusal refusal = refused(scaled);
      assertEquals("target.orientation", refusal.field());
      assertEquals(1.001, refusal.value(), 1e-12);
      assertEquals("a quaternion of norm 1.001000000 (expected: a unit quaternion, norm 1 within 1e-06)",
          refusal.reason());
      Setpoint zero = at(2, 0.5).toBuilder().setTarget(at(2, 0.5).getTarget().toBuilder()
          .setOrientation(Quaternion.getDefaultInstance())).build();
      assertEquals(0, refused(zero).value());
      Setpoint withinRounding = at(3, 0.5).toBuilder().setTarget(at(3, 0.5).getTarget().toBuilder()
          .setOrientation(Quaternion.newBuilder().setW(1 + 1e-9))).build();
      assertNull(check.check(withinRounding));
    }

    @Test
    void aGripperOutsideZeroToOneIsRefused() {
      SetpointCheck.Refusal refusal = refused(setpoint(1, 0.5, 0, 0.2, 0, 1.5));
      assertEquals("gripper", refusal.field());
      assertEquals(1.5, refusal.value());
      assertEquals("outside 0..1 (expected: 0 = closed .. 1 = open)", refusal.reason());
      assertEquals("gripper", refused(setpoint(2, 0.5, 0, 0.2, 0, -0.01)).field());
      assertNull(check.check(setpoint(3, 0.5, 0, 0.2, 0, 0)));
    }

    @Test
    void aPositionOutsideTheBoxIsRefusedBeyondRounding() {
      SetpointCheck.Refusal refusal = refused(setpoint(1, 0.5, 0.31, 0.2, 0, 1));
      assertEquals("target.position.y", refusal.field());
      assertEquals(0.31, refusal.value());
      assertEquals("outside the workspace (expected: -0.3000 .. 0.3000 m, the announced workspace box)",
          refusal.reason());
      assertEquals("target.position.z", refused(setpoint(2, 0.5, 0, 0.0, 0, 1)).field());
      assertNull(check.check(setpoint(3, 0.75 + 1e-10, 0, 0.2, 0, 1)), "within 1e-9 m of the box");
    }

    @Test
    void aSetpointWithoutATimeIsRefused() {
      SetpointCheck.Refusal refusal = refused(at(1, 0.5).toBuilder().clearTime().build());
      assertEquals("time", refusal.field());
    }
  }

  @Nested
  class Rates {
    {
      check.announce(LIMITS);
    }

    @Test
    void movingAtTheLimitPassesAndFasterIsRefused() {
      // 1 m/s at 1 kHz: 1 mm per tick, exactly at the limit.
      double x = 0.5;
      for (long sequence = 1; sequence <= 10; sequence++, x += 0.001) {
        assertNull(check.check(at(sequence, x)), "at the limit, setpoint " + sequence);
      }
      SetpointCheck.Refusal refusal = refused(at(11, x - 0.001 + 0.0011));
      assertEquals("target.position.x", refusal.field());
      assertEquals(x - 0.001 + 0.0011, refusal.value(), 1e-15);
      assertEquals("moves x at 1.1000 m/s from setpoint 10 (expected: at most 1.0000 m/s, the announced"
          + " max_linear_velocity)", refusal.reason());
    }

    @Test
    void turningFasterThanTheAngularLimitIsRefused() {
      assertNull(check.check(setpoint(1, 0.5, 0, 0.2, 0, 1)));
      assertNull(check.check(setpoint(2, 0.5, 0, 0.2, 0.005, 1)), "5 rad/s: at the limit");
      SetpointCheck.Refusal refusal = refused(setpoint(3, 0.5, 0, 0.2, 0.0106, 1));
      assertEquals("target.orientation", refusal.field());
      assertEquals(0.0056, refusal.value(), 1e-9);
      assertTrue(refusal.reason().contains("5.6000 rad/s (expected: at most 5.0000 rad/s"), refusal.reason());
    }

    @Test
    void aJumpAfterAHoldOrASequenceGapIsNotARateViolation() {
      assertNull(check.check(at(1, 0.5)));
      assertNull(check.check(at(3, 0.6)), "setpoint 2 was skipped: the robot did not follow 1 -> 3 in one tick");
      check.reset();
      assertNull(check.check(at(4, 0.3)), "after a hold the robot is wherever it stopped");
      assertNotNull(check.check(at(5, 0.4)), "consecutive again: checked");
    }

    @Test
    void aGripperFasterThanItsRateLimitIsRefused() {
      check.announce(LIMITS.toBuilder()
          .setMaxGripperRate(AxisLimit.newBuilder().setMax(10).setMode(LimitMode.LIMIT_MODE_CLAMP)).build());
      assertNull(check.check(setpoint(1, 0.5, 0, 0.2, 0, 1)));
      assertNull(check.check(setpoint(2, 0.5, 0, 0.2, 0, 0.99)), "10 /s: at the limit");
      SetpointCheck.Refusal refusal = refused(setpoint(3, 0.5, 0, 0.2, 0, 0.5));
      assertEquals("gripper", refusal.field());
      assertTrue(refusal.reason().startsWith("moves 490.0000 /s from setpoint 2 (expected: at most 10.0000 /s"),
          refusal.reason());
    }

    @Test
    void aToolTiltedOutsideTheAnnouncedConeIsRefused() {
      check.announce(LIMITS.toBuilder().setOrientationWorkspace(OrientationLimit.newBuilder()
          .setToolAxis(Vector3.newBuilder().setZ(1)).setNominalDirection(Vector3.newBuilder().setZ(1))
          .setMaxTilt(0.5).setMode(LimitMode.LIMIT_MODE_CLAMP)).build());
      assertNull(check.check(setpoint(1, 0.5, 0, 0.2, 2.0, 1)), "yaw about the tool axis is free");
      double roll = 0.6;
      Setpoint tilted = setpoint(5, 0.5, 0, 0.2, 0, 1).toBuilder().setTarget(Pose.newBuilder()
          .setPosition(Vector3.newBuilder().setX(0.5).setZ(0.2))
          .setOrientation(Quaternion.newBuilder().setX(Math.sin(roll / 2)).setW(Math.cos(roll / 2)))).build();
      SetpointCheck.Refusal refusal = refused(tilted);
      assertEquals("target.orientation", refusal.field());
      assertEquals(0.6, refusal.value(), 1e-12);
      assertTrue(refusal.reason().contains("(expected: at most 0.500000 rad, the announced orientation_workspace)"),
          refusal.reason());
    }

    @Test
    void aTimeThatDoesNotAdvanceIsRefused() {
      assertNull(check.check(at(1, 0.5)));
      Setpoint same = at(2, 0.5).toBuilder().setTime(at(1, 0.5).getTime()).build();
      assertEquals("time", refused(same).field());
    }

    @Test
    void loweredLimitsAllowTheBridgesDecelerationUntilWithinThem() {
      assertNull(check.check(at(1, 0.5)));
      assertNull(check.check(at(2, 0.501)), "1 m/s");
      check.announce(limits(0.5, 5.0));
      assertNull(check.check(at(3, 0.5019)), "0.9 m/s: still decelerating to the new 0.5 m/s");
      assertNull(check.check(at(4, 0.5024)), "0.5 m/s: within the new limit");
      assertNotNull(check.check(at(5, 0.5030)), "0.6 m/s once it was within: refused");
    }
  }
}

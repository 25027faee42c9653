package io.vlaserve.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class QuaternionTest {

  @Test
  void rollPitchYawRoundTrips() {
    SplittableRandom random = new SplittableRandom(1);
    for (int i = 0; i < 1000; i++) {
      double roll = (random.nextDouble() * 2 - 1) * 3;
      double pitch = (random.nextDouble() * 2 - 1) * 1.5;
      double yaw = (random.nextDouble() * 2 - 1) * 3;
      double[] rpy = Quaternion.fromRollPitchYaw(roll, pitch, yaw).toRollPitchYaw();
      assertEquals(roll, rpy[0], 1e-9);
      assertEquals(pitch, rpy[1], 1e-9);
      assertEquals(yaw, rpy[2], 1e-9);
    }
  }

  @Test
  void yawIsAboutWorldZAndAppliedAfterRollAndPitch() {
    // Rz(pi/2) * Rx(pi/2): the gripper y axis goes to world z by the roll, and stays there.
    double[] m = new double[9];
    Quaternion q = Quaternion.fromRollPitchYaw(Math.PI / 2, 0, Math.PI / 2);
    QuaternionMath.toMatrix(q.x(), q.y(), q.z(), q.w(), m);
    assertEquals(0, m[1], 1e-12);
    assertEquals(0, m[4], 1e-12);
    assertEquals(1, m[7], 1e-12);
    // The gripper x axis goes to world y by the yaw.
    assertEquals(1, m[3], 1e-12);
  }

  @Test
  void tiltIgnoresYaw() {
    assertEquals(0, Quaternion.fromRollPitchYaw(0, 0, 1.2).tilt(), 1e-7);
    assertEquals(0.3, Quaternion.fromRollPitchYaw(0.3, 0, 1.2).tilt(), 1e-9);
    assertEquals(0.3, Quaternion.fromRollPitchYaw(0, -0.3, 0).tilt(), 1e-9);
  }

  @Test
  void factoriesAreCanonicalAndNormalised() {
    Quaternion q = Quaternion.fromArray(new double[] {0, 0, 0, -2});
    assertEquals(Quaternion.IDENTITY, q);
    assertTrue(Quaternion.fromRollPitchYaw(0, 0, 3.1).w() >= 0);
    assertEquals(0, Quaternion.IDENTITY.angleTo(Quaternion.fromArray(new double[] {0, 0, 0, -1})), 1e-12);
  }

  @Test
  void zeroQuaternionIsRejected() {
    IllegalArgumentException e = assertThrows(
        IllegalArgumentException.class, () -> Quaternion.fromArray(new double[] {0, 0, 0, 0}));
    assertTrue(e.getMessage().contains("expected a non-zero quaternion"), e.getMessage());
  }

  @Test
  void smallAnglePolynomialsMatchStrictMath() {
    for (int i = -2500; i <= 2500; i++) {
      double x = i * 1e-4;
      assertEquals(StrictMath.sin(x), QuaternionMath.sinSmall(x), 2e-16);
      assertEquals(StrictMath.cos(x), QuaternionMath.cosSmall(x), 2e-16);
    }
  }
}

package io.vlaserve.controller.trajectory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class QuaternionsTest {

  private static double[] rpy(double roll, double pitch, double yaw) {
    double[] q = new double[4];
    Quaternions.fromRollPitchYaw(roll, pitch, yaw, q);
    return q;
  }

  @Test
  void slerpHalfwayAlongNinetyDegreesAboutZIsFortyFive() {
    double[] q = new double[4];
    Quaternions.slerp(rpy(0, 0, 0), rpy(0, 0, Math.PI / 2), 0.5, q);
    assertArrayEquals(rpy(0, 0, Math.PI / 4), q, 1e-12);
  }

  @Test
  void slerpTurnsAtConstantRateAlongTheGeodesic() {
    double[] a = rpy(0.3, -0.2, 0.1);
    double[] b = rpy(-1.0, 0.7, 2.0);
    double total = Quaternions.angleBetween(a, b);
    double[] q = new double[4];
    for (double t = 0.1; t < 1; t += 0.1) {
      Quaternions.slerp(a, b, t, q);
      assertEquals(t * total, Quaternions.angleBetween(a, q), 1e-9, "angle from start at t=" + t);
      assertEquals((1 - t) * total, Quaternions.angleBetween(q, b), 1e-9, "angle to end at t=" + t);
    }
  }

  @Test
  void slerpIsNotEulerLerp() {
    // A rotation mixing all three Euler angles: the Euler-lerp midpoint is off the geodesic.
    double[] a = rpy(0, 0, 0);
    double[] b = rpy(1.2, 0.9, 1.4);
    double total = Quaternions.angleBetween(a, b);
    double[] slerped = new double[4];
    Quaternions.slerp(a, b, 0.5, slerped);
    double[] eulerLerped = rpy(0.6, 0.45, 0.7);
    assertEquals(total / 2, Quaternions.angleBetween(a, slerped), 1e-9);
    assertEquals(total / 2, Quaternions.angleBetween(slerped, b), 1e-9);
    double offGeodesic = Quaternions.angleBetween(a, eulerLerped) + Quaternions.angleBetween(eulerLerped, b) - total;
    assertTrue(offGeodesic > 0.01, "Euler lerp leaves the shortest path by " + offGeodesic + " rad");
  }

  @Test
  void slerpTakesTheShorterArcWhateverTheSign() {
    double[] a = rpy(0, 0, 0.2);
    double[] b = rpy(0, 0, 0.6);
    double[] negated = {-b[0], -b[1], -b[2], -b[3]};
    double[] q = new double[4];
    Quaternions.slerp(a, negated, 0.5, q);
    assertEquals(0, Quaternions.angleBetween(q, rpy(0, 0, 0.4)), 1e-12);
  }

  @Test
  void rotationVectorRoundTrips() {
    SplittableRandom random = new SplittableRandom(5);
    double[] q = new double[4];
    double[] r = new double[3];
    for (int i = 0; i < 500; i++) {
      double scale = i % 5 == 0 ? 1e-9 : 3.0;
      double rx = random.nextDouble(-scale, scale);
      double ry = random.nextDouble(-scale, scale);
      double rz = random.nextDouble(-scale, scale);
      if (Math.sqrt(rx * rx + ry * ry + rz * rz) >= Math.PI) {
        continue;
      }
      Quaternions.fromRotationVector(rx, ry, rz, q);
      assertEquals(1, Quaternions.norm(q), 1e-12);
      Quaternions.toRotationVector(q, r);
      assertArrayEquals(new double[] {rx, ry, rz}, r, 1e-12);
    }
  }

  @Test
  void angleBetweenIsAccurateForTinyAngles() {
    assertEquals(1e-9, Quaternions.angleBetween(rpy(0, 0, 0), rpy(1e-9, 0, 0)), 1e-18);
  }
}

package io.vlaserve.controller.bench;

import io.vlaserve.controller.CartesianPose;
import io.vlaserve.controller.TestLimits;
import io.vlaserve.controller.safety.SafetyEventLog;
import io.vlaserve.controller.safety.SafetyGate;
import io.vlaserve.controller.safety.SafetyLimits;
import io.vlaserve.controller.trajectory.Quaternions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * What a halt from full speed commands: for a pure yaw, a diagonal rotation (all three axes), a
 * linear motion and the gripper, each at 90% of what the gate allows, the largest deceleration the
 * setpoints show while braking (finite differences of the emitted poses) against the limit, and
 * how long and how far the stop takes. Before issue 15, rotation and gripper held on the very next
 * tick: a stop from 5 rad/s commanded about 5,000 rad/s^2.
 *
 * <p>Deterministic (no clock, no sleeping); not part of the default build.
 *
 * <pre>
 * mvn -B -ntp -pl controller-core -am test -Dtest=HaltBrakingBenchmark -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 *
 * Prints a markdown table and writes it to {@code controller-core/target/benchmarks/halt-braking.md}.
 */
class HaltBrakingBenchmark {
  private static final double H = 1e-3;

  @Test
  void haltFromFullSpeed() throws IOException {
    SafetyLimits limits = TestLimits.tabletop();
    double perAxis = limits.maxAngularVelocity().max() / Math.sqrt(3);
    StringBuilder table = new StringBuilder(String.format(Locale.ROOT, "Halt from 90%% of the allowed speed, tabletop"
        + " limits (angular %.1f rad/s, %.0f rad/s^2, %.0f rad/s^3; linear %.1f m/s, %.0f m/s^2; gripper %.0f /s,"
        + " %.0f /s^2), 1 kHz%n%n| motion | speed at halt | max deceleration commanded | limit | stop time | stop"
        + " distance |%n|---|---:|---:|---:|---:|---:|%n", limits.maxAngularVelocity().max(),
        limits.maxAngularAcceleration().max(), limits.maxAngularJerk().max(), limits.maxLinearVelocity().max(),
        limits.maxLinearAcceleration().max(), limits.maxGripperRate().max(), limits.maxGripperAcceleration().max()));
    table.append(row("yaw (one axis)", limits, new double[] {0, 0, 0.9 * perAxis}, 0, 0, "rad/s"));
    table.append(row("diagonal rotation", limits,
        new double[] {0.9 * perAxis, 0.9 * perAxis, 0.9 * perAxis}, 0, 0, "rad/s"));
    table.append(row("linear x", limits, new double[3], 0.9 * limits.maxLinearVelocity().max(), 0, "m/s"));
    table.append(row("gripper closing", limits, new double[3], 0, -0.9 * limits.maxGripperRate().max(), "/s"));
    System.out.println(table);
    Path out = Path.of("target", "benchmarks", "halt-braking.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, table.toString());
  }

  /** Drives the gate at constant rates (ramped in smoothly), halts, and measures the stop. */
  private static String row(String name, SafetyLimits limits, double[] angularRate, double linearRate,
      double gripperRate, String unit) {
    SafetyGate gate = new SafetyGate(H, limits, new SafetyEventLog("bench", 1 << 16));
    CartesianPose pose = new CartesianPose().set(0.3, 0, 0.2, 0, 0, 0, 1, 1);
    gate.reset(pose);
    double[] rotation = {0, 0, 0};
    double x = 0.3;
    double gripper = 1;
    long now = 0;
    // Ramp up smoothly, hold the speed, halt before the motion reaches a bound (the gripper closes fast).
    int ramp = gripperRate != 0 ? 30 : 400;
    int total = gripperRate != 0 ? 60 : 600;
    for (int i = 0; i < total; i++) {
      double u = Math.min(1, i / (double) ramp);
      double share = u * u * (3 - 2 * u);
      for (int k = 0; k < 3; k++) {
        rotation[k] += share * angularRate[k] * H;
      }
      x += share * linearRate * H;
      gripper = Math.max(0, gripper + share * gripperRate * H);
      CartesianPose request = new CartesianPose();
      Quaternions.fromRotationVector(rotation[0], rotation[1], rotation[2], request.orientation);
      request.position[0] = x;
      request.position[2] = 0.2;
      request.gripper = gripper;
      now += 1_000_000;
      gate.filter(request, now, i, 1);
    }
    gate.startBraking();
    double[] previous = new double[4];
    double[] current = new double[4];
    gate.output().copyOrientation(current);
    double previousX = gate.output().position(0);
    double previousGripper = gate.output().gripper();
    double speed = Double.NaN;
    double maxDeceleration = 0;
    double distance = 0;
    int ticks = 0;
    while (!gate.atRest() && ticks < 100_000) {
      System.arraycopy(current, 0, previous, 0, 4);
      now += 1_000_000;
      gate.brake(now, 600 + ticks);
      gate.output().copyOrientation(current);
      double rate;
      double step;
      if (linearRate != 0) {
        step = Math.abs(gate.output().position(0) - previousX);
        previousX = gate.output().position(0);
      } else if (gripperRate != 0) {
        step = Math.abs(gate.output().gripper() - previousGripper);
        previousGripper = gate.output().gripper();
      } else {
        step = Quaternions.angleBetween(previous, current);
      }
      rate = step / H;
      if (Double.isNaN(speed)) {
        speed = rate;
      } else {
        maxDeceleration = Math.max(maxDeceleration, (speed - rate) / H);
        speed = rate;
      }
      distance += step;
      ticks++;
    }
    double startSpeed = linearRate != 0 ? Math.abs(linearRate) : gripperRate != 0 ? Math.abs(gripperRate)
        : Math.sqrt(angularRate[0] * angularRate[0] + angularRate[1] * angularRate[1] + angularRate[2] * angularRate[2]);
    double limit = linearRate != 0 ? limits.maxLinearAcceleration().max() : gripperRate != 0
        ? limits.maxGripperAcceleration().max() : limits.maxAngularAcceleration().max();
    String accelerationUnit = unit.replace("/s", "/s^2");
    return String.format(Locale.ROOT, "| %s | %.3f %s | %.2f %s | %.2f %s | %.0f ms | %.4f %s |%n", name, startSpeed,
        unit, maxDeceleration, accelerationUnit, limit, accelerationUnit, ticks * H * 1e3, distance,
        unit.replace("/s", ""));
  }
}

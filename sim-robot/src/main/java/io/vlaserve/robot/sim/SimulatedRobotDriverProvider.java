package io.vlaserve.robot.sim;

import io.vlaserve.controller.driver.RobotDriver;
import io.vlaserve.controller.driver.RobotDriverProvider;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;

/**
 * Simulated robots for the controller bridge: each a {@link TabletopWorld} of its own (three
 * blocks, the centre start pose pointing down, at rest inside the default workspace), seeded per
 * robot. Stateless and thread-safe.
 */
public final class SimulatedRobotDriverProvider implements RobotDriverProvider {
  /** The kind the bridge asks for when it simulates robots. */
  public static final String KIND = "simulated";

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public RobotDriver create(String robotId, long seed, long startNanos) {
    return new SimulatedRobotDriver(new TabletopWorld(seed, new WorldConfig(3, false)), startNanos);
  }
}

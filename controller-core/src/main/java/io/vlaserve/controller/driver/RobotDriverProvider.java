package io.vlaserve.controller.driver;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/**
 * Makes robot drivers of one kind, found at run time through {@link ServiceLoader}, so that a
 * bridge can drive robots whose code it does not compile against (the simulator, a vendor's arm)
 * by configuration alone. Implementations are listed in
 * {@code META-INF/services/io.vlaserve.controller.driver.RobotDriverProvider}.
 */
public interface RobotDriverProvider {
  /** The kind of robot this provider drives, e.g. {@code "simulated"}. */
  String kind();

  /**
   * Creates the driver of one robot.
   *
   * @param robotId the robot
   * @param seed distinguishes robots of one kind where that matters (a simulated scene)
   * @param startNanos the loop clock's time now
   */
  RobotDriver create(String robotId, long seed, long startNanos);

  /**
   * Returns the provider of {@code kind} on the class path.
   *
   * @throws IllegalStateException naming the kinds that are available if none provides it
   */
  static RobotDriverProvider of(String kind) {
    List<String> available = new ArrayList<>();
    for (RobotDriverProvider provider : ServiceLoader.load(RobotDriverProvider.class)) {
      if (provider.kind().equals(kind)) {
        return provider;
      }
      available.add(provider.kind());
    }
    throw new IllegalStateException("no robot driver of kind \"" + kind + "\" on the class path (available: "
        + available + "); simulated robots need vla-sim-robot beside the bridge");
  }
}

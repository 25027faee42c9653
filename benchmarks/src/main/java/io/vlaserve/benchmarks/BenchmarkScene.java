package io.vlaserve.benchmarks;

import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.sim.TabletopWorld;
import io.vlaserve.sim.WorldConfig;
import io.vlaserve.sim.render.CameraConfig;
import io.vlaserve.sim.render.TabletopRenderer;
import java.nio.file.Path;

/**
 * What the policy benchmarks feed the model: the shipped model, one rendered scene at its input
 * size, the arm's proprioception and a skill instruction, the same in every benchmark so their
 * numbers compare.
 *
 * @param home the checkout ({@code -Dvla.home}, else the working directory)
 * @param proprioValues the proprioception as the simulator reports it (x, y, z, qx, qy, qz, qw, gripper)
 */
record BenchmarkScene(Path home, ModelPackage model, byte[] frame, double[] proprioValues, float[] proprio,
    String instruction) {

  static BenchmarkScene load() {
    Path home = Path.of(System.getProperty("vla.home", ".")).toAbsolutePath().normalize();
    ModelPackage model = ModelPackage.load(home.resolve("models/tiny-vla"));
    TabletopWorld world = new TabletopWorld(3, new WorldConfig(3, true));
    TabletopRenderer renderer = new TabletopRenderer(CameraConfig.of(model.imageWidth(), model.imageHeight()));
    byte[] frame = renderer.newFrame();
    renderer.render(world, frame);
    double[] p = new double[8];
    world.writeProprio(p);
    float[] proprio = new float[8];
    for (int i = 0; i < 8; i++) {
      proprio[i] = (float) p[i];
    }
    return new BenchmarkScene(home, model, frame, p, proprio, "move to the red block");
  }
}

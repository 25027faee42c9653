package io.vlaserve.benchmarks;

import com.google.protobuf.ByteString;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.Pose;
import io.vlaserve.common.v1.Quaternion;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.Vector3;
import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.v1.InferRequest;
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

  /** The scene as the in-process policy takes it: a greedy chunk of the model's length. */
  PolicyRequest policyRequest() {
    return new PolicyRequest(frame, instruction, proprio, model.chunkLength(), SamplingParams.GREEDY);
  }

  /** The scene as policy-service's unary {@code Infer} takes it: an RGB8 frame and the arm's state. */
  InferRequest inferRequest() {
    double[] p = proprioValues;
    return InferRequest.newBuilder().setInstruction(instruction)
        .setObservation(Observation.newBuilder().setSequence(1)
            .addImages(Image.newBuilder().setEncoding(ImageEncoding.IMAGE_ENCODING_RGB8).setWidth(model.imageWidth())
                .setHeight(model.imageHeight()).setData(ByteString.copyFrom(frame)))
            .setState(RobotState.newBuilder().setGripper(p[7]).setEndEffector(Pose.newBuilder()
                .setPosition(Vector3.newBuilder().setX(p[0]).setY(p[1]).setZ(p[2]))
                .setOrientation(Quaternion.newBuilder().setX(p[3]).setY(p[4]).setZ(p[5]).setW(p[6])))))
        .build();
  }
}

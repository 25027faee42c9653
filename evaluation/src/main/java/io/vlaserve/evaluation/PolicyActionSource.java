package io.vlaserve.evaluation;

import io.vlaserve.policy.PolicyRequest;
import io.vlaserve.policy.VlaPolicy;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.sim.WorldState;
import io.vlaserve.skills.Subgoal;
import java.util.Arrays;

/**
 * The policy under test: one chunk per call, of which the first {@code executeSteps} actions are
 * executed before the policy sees the world again (receding horizon).
 */
public final class PolicyActionSource implements ActionSource {
  private final VlaPolicy policy;
  private final int executeSteps;
  private final SamplingParams sampling;
  private long inferences;
  private long inferenceNanos;

  public PolicyActionSource(VlaPolicy policy, int executeSteps, SamplingParams sampling) {
    if (executeSteps < 1 || executeSteps > policy.model().chunkLength()) {
      throw new IllegalArgumentException("execute steps: " + executeSteps + " (expected: 1.."
          + policy.model().chunkLength() + ", the model's chunk length)");
    }
    this.policy = policy;
    this.executeSteps = executeSteps;
    this.sampling = sampling;
  }

  @Override
  public double[][] act(WorldState state, byte[] image, Subgoal subgoal) {
    return Arrays.copyOf(continuation(state, image, subgoal, new double[0][]), executeSteps);
  }

  /**
   * The whole chunk after a committed prefix of {@code prefix.length} steps (real-time chunking),
   * decoded as their continuation: the model's chunk length minus the prefix's steps.
   */
  public double[][] continuation(WorldState state, byte[] image, Subgoal subgoal, double[][] prefix) {
    double[] proprio = state.proprio();
    float[] values = new float[proprio.length];
    for (int i = 0; i < proprio.length; i++) {
      values[i] = (float) proprio[i];
    }
    long started = System.nanoTime();
    double[][] chunk = policy.infer(new PolicyRequest(image, subgoal.instruction(), values,
        policy.model().chunkLength(), sampling, prefix)).actions();
    inferenceNanos += System.nanoTime() - started;
    inferences++;
    return chunk;
  }

  public long inferences() {
    return inferences;
  }

  public double meanInferenceMillis() {
    return inferences == 0 ? 0 : inferenceNanos / 1e6 / inferences;
  }
}

package io.vlaserve.policy.server;

import com.google.protobuf.util.Durations;
import io.vlaserve.common.v1.ActionChunk;
import io.vlaserve.common.v1.CommittedPrefix;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.common.v1.Image;
import io.vlaserve.common.v1.ImageEncoding;
import io.vlaserve.common.v1.Observation;
import io.vlaserve.common.v1.RobotState;
import io.vlaserve.common.v1.TimingBreakdown;
import io.vlaserve.policy.PolicyResult;
import io.vlaserve.policy.batching.ScheduledResult;
import io.vlaserve.policy.batching.SessionKey;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.image.ImageFormat;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.policy.v1.BatchingInfo;
import io.vlaserve.policy.v1.CameraSpec;
import io.vlaserve.policy.v1.InferResponse;
import io.vlaserve.policy.v1.PolicyMetadata;
import io.vlaserve.tokenizer.ActionDimension;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Conversions between {@code vla.policy.v1} messages and the policy core. Stateless. */
final class PolicyMessages {
  private PolicyMessages() {}

  /**
   * The front door's observation from a gRPC Observation message.
   *
   * @throws IllegalArgumentException naming the field when the message does not fit the model
   */
  static PolicyFrontDoor.Observation observation(ModelPackage model, String robot, SessionKey session,
      Observation observation, String instruction, SamplingParams sampling, int chunkLength, long receivedNanos,
      long deadlineNanos, CommittedPrefix prefix) {
    List<PolicyFrontDoor.Frame> frames = frames(observation, model).stream()
        .map(frame -> new PolicyFrontDoor.Frame(format(frame.getEncoding()), frame.getData().toByteArray(),
            frame.getWidth(), frame.getHeight()))
        .toList();
    return new PolicyFrontDoor.Observation(robot, session, observation.getSequence(), frames,
        proprio(model, observation), instruction, chunkLength, sampling, receivedNanos, deadlineNanos,
        committedPrefix(model, prefix));
  }

  /**
   * A committed prefix's actions; their values are checked by the policy when the request is queued.
   *
   * @throws IllegalArgumentException for a step period other than the model's
   */
  static double[][] committedPrefix(ModelPackage model, CommittedPrefix prefix) {
    if (prefix.hasStepPeriod() && Durations.toNanos(prefix.getStepPeriod()) != model.stepPeriod().toNanos()) {
      throw new IllegalArgumentException("committed_prefix.step_period: " + Durations.toString(prefix.getStepPeriod())
          + " (expected the model's step period, " + model.stepPeriod().toNanos() / 1e9 + "s, or unset)");
    }
    double[][] steps = new double[prefix.getStepsCount()][];
    for (int s = 0; s < steps.length; s++) {
      ActionVector step = prefix.getSteps(s);
      steps[s] = new double[step.getValuesCount()];
      for (int d = 0; d < steps[s].length; d++) {
        steps[s][d] = step.getValues(d);
      }
    }
    return steps;
  }

  /** The InferResponse for the front door's answer to {@code observation}, as chunk {@code chunkId}. */
  static InferResponse response(ModelPackage model, PolicyFrontDoor.Answer answer, Observation observation,
      long chunkId, long receivedNanos, int firstStep) {
    ScheduledResult scheduled = answer.scheduled();
    PolicyResult result = scheduled.result();
    long preprocessNanos = answer.preprocessedNanos() - receivedNanos;
    return InferResponse.newBuilder()
        .setChunk(chunk(model, result, observation, chunkId).toBuilder().setFirstStep(firstStep))
        .setTiming(timing(scheduled.queueNanos(), preprocessNanos, result, answer.finishedNanos() - receivedNanos))
        .setBatching(BatchingInfo.newBuilder()
            .setEngine(Durations.fromNanos(scheduled.engineNanos()))
            .setLargestBatch(scheduled.largestBatch()))
        .setModelVersion(model.version())
        .build();
  }

  static PolicyMetadata metadata(PolicyRuntime runtime) {
    ModelPackage model = runtime.model();
    return PolicyMetadata.newBuilder()
        .setModelName(model.name())
        .setModelVersion(model.version())
        .setEngine(runtime.engine().name())
        .addAllCameras(java.util.stream.IntStream.range(0, model.cameras().size()).mapToObj(c -> CameraSpec.newBuilder()
            .setName(model.cameras().get(c).name())
            .setWidth(model.cameras().get(c).width())
            .setHeight(model.cameras().get(c).height())
            .addAcceptedEncodings(ImageEncoding.IMAGE_ENCODING_RGB8)
            .addAcceptedEncodings(ImageEncoding.IMAGE_ENCODING_JPEG)
            .addAcceptedEncodings(ImageEncoding.IMAGE_ENCODING_PNG)
            .setResizeAllowed(runtime.images(c).resizeAllowed())
            .build()).toList())
        .setMaxImageBytes(runtime.images().maxBytes())
        .setActionProfile(model.actionProfile().name())
        .addAllActionDimensions(model.actionProfile().dimensions().stream().map(ActionDimension::name).toList())
        .addAllProprioDimensions(model.proprioNames())
        .setMaxChunkLength(model.chunkLength())
        .setStepPeriod(Durations.fromNanos(model.stepPeriod().toNanos()))
        .addAllSkills(model.skills())
        .setDecoding(model.decoding() == ModelPackage.Decoding.PARALLEL ? io.vlaserve.policy.v1.Decoding.DECODING_PARALLEL
            : io.vlaserve.policy.v1.Decoding.DECODING_AUTOREGRESSIVE)
        .build();
  }

  /**
   * One frame per camera of the model, in its camera order, found by camera name. A model with one
   * camera also takes a single frame of any name (robots that never named their camera); otherwise a
   * missing, repeated or unknown camera is refused, naming the cameras the model sees.
   */
  static List<Image> frames(Observation observation, ModelPackage model) {
    List<String> names = model.cameras().stream().map(ModelPackage.CameraInput::name).toList();
    String at = "observation " + observation.getSequence() + ": ";
    if (observation.getImagesCount() == 0) {
      throw new IllegalArgumentException(at + "no image (expected one frame from each camera: " + names + ")");
    }
    if (names.size() == 1 && observation.getImagesCount() == 1) {
      return List.of(observation.getImages(0));
    }
    Map<String, Image> byCamera = new HashMap<>();
    for (Image image : observation.getImagesList()) {
      if (!names.contains(image.getCamera())) {
        throw new IllegalArgumentException(at + "a frame from camera \"" + image.getCamera() + "\", which the model"
            + " does not see (expected one frame from each of " + names + ")");
      }
      if (byCamera.put(image.getCamera(), image) != null) {
        throw new IllegalArgumentException(at + "two frames from camera \"" + image.getCamera() + "\" (expected one"
            + " from each of " + names + ")");
      }
    }
    List<String> missing = names.stream().filter(name -> !byCamera.containsKey(name)).toList();
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(at + "no frame from camera" + (missing.size() == 1 ? " " : "s ")
          + missing.stream().map(name -> "\"" + name + "\"").collect(java.util.stream.Collectors.joining(", "))
          + " (expected one frame from each of " + names + ")");
    }
    return names.stream().map(byCamera::get).toList();
  }

  static ImageFormat format(ImageEncoding encoding) {
    return switch (encoding) {
      case IMAGE_ENCODING_RGB8 -> ImageFormat.RGB8;
      case IMAGE_ENCODING_JPEG -> ImageFormat.JPEG;
      case IMAGE_ENCODING_PNG -> ImageFormat.PNG;
      default -> throw new IllegalArgumentException("image encoding " + encoding
          + " (expected: IMAGE_ENCODING_RGB8, IMAGE_ENCODING_JPEG or IMAGE_ENCODING_PNG)");
    };
  }

  /** Proprioception in the model's order, from the robot state. */
  static float[] proprio(ModelPackage model, Observation observation) {
    if (model.proprioNames().isEmpty()) {
      return new float[0]; // a model that reads no proprioception (OpenVLA) needs no robot state
    }
    if (!observation.hasState() || !observation.getState().hasEndEffector()) {
      throw new IllegalArgumentException("observation " + observation.getSequence()
          + ": no robot state (expected end_effector pose and gripper: " + model.proprioNames() + ")");
    }
    RobotState state = observation.getState();
    var position = state.getEndEffector().getPosition();
    var orientation = state.getEndEffector().getOrientation();
    float[] values = new float[model.proprioNames().size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) switch (model.proprioNames().get(i)) {
        case "x" -> position.getX();
        case "y" -> position.getY();
        case "z" -> position.getZ();
        case "qx" -> orientation.getX();
        case "qy" -> orientation.getY();
        case "qz" -> orientation.getZ();
        case "qw" -> orientation.getW();
        case "gripper" -> state.getGripper();
        default -> throw new IllegalStateException("model proprio \"" + model.proprioNames().get(i)
            + "\" has no mapping from vla.common.v1.RobotState");
      };
    }
    return values;
  }

  static SamplingParams sampling(io.vlaserve.policy.v1.SamplingParams params) {
    return new SamplingParams(params.getTemperature(), params.getTopK(), params.getTopP(), params.getSeed());
  }

  static ActionChunk chunk(ModelPackage model, PolicyResult result, Observation observation, long chunkId) {
    return chunkOf(model, result).setChunkId(chunkId).setObservationTime(observation.getCaptureTime())
        .setObservationSequence(observation.getSequence()).build();
  }

  /** {@code result} as a chunk of {@code model}'s: profile, step period, steps, tokens and their log-probabilities. */
  static ActionChunk.Builder chunkOf(ModelPackage model, PolicyResult result) {
    ActionChunk.Builder chunk = ActionChunk.newBuilder()
        .setActionProfile(model.actionProfile().name())
        .setStepPeriod(Durations.fromNanos(model.stepPeriod().toNanos()));
    for (double[] step : result.actions()) {
      ActionVector.Builder vector = chunk.addStepsBuilder();
      for (double value : step) {
        vector.addValues(value);
      }
    }
    for (int token : result.tokens()) {
      chunk.addTokens(token);
    }
    for (float logProbability : result.logProbabilities()) {
      chunk.addTokenLogprobs(logProbability);
    }
    return chunk;
  }

  static TimingBreakdown timing(long queueNanos, long preprocessNanos, PolicyResult result, long totalNanos) {
    return TimingBreakdown.newBuilder()
        .setQueue(Durations.fromNanos(queueNanos))
        .setPreprocess(Durations.fromNanos(preprocessNanos))
        .setPrefill(Durations.fromNanos(result.prefillNanos()))
        .setDecode(Durations.fromNanos(result.decodeNanos()))
        .setPostprocess(Durations.fromNanos(result.postprocessNanos()))
        .setTotal(Durations.fromNanos(totalNanos))
        .build();
  }
}

package io.vlaserve.policy.server;

import io.vlaserve.policy.image.ImageFormat;
import io.vlaserve.policy.model.ModelPackage;
import java.util.List;
import java.util.Map;

/**
 * Where the model's inputs are in an openpi observation dict, and reading them out: the camera image
 * (uint8, {@code [H, W, 3]} as LIBERO and DROID send it, or {@code [3, H, W]} as ALOHA does), the
 * proprioceptive state (a number array of the model's proprio length) and the prompt (a string).
 * A key is looked up as it is first ({@code "observation/image"} is one flat key in openpi's LIBERO
 * example), then, if absent, as a path through nested dicts split at "/" ({@code "images/cam_high"}
 * for ALOHA's {@code {"images": {"cam_high": ...}}}). Every refusal says which key, what was found
 * and what was expected. Thread-safe (immutable).
 *
 * @param imageKey the camera image's key (the first camera's, for a model with several)
 * @param cameraKeys image keys by camera name, for models with several cameras (see {@link #imageKey(ModelPackage, int)})
 * @param stateKey the proprioceptive state's key
 * @param promptKey the instruction's key
 */
record OpenPiObservations(String imageKey, Map<String, String> cameraKeys, String stateKey, String promptKey) {
  /** The model's inputs read from one observation; one frame per camera, in the model's camera order. */
  record Inputs(List<PolicyFrontDoor.Frame> frames, float[] proprio, String instruction) {}

  OpenPiObservations(String imageKey, String stateKey, String promptKey) {
    this(imageKey, Map.of(), stateKey, promptKey);
  }

  OpenPiObservations {
    cameraKeys = cameraKeys == null ? Map.of() : Map.copyOf(cameraKeys);
    for (String key : List.of(imageKey, stateKey, promptKey)) {
      if (key == null || key.isBlank()) {
        throw new IllegalArgumentException("vla.policy.openpi: an empty observation key (image-key, state-key and"
            + " prompt-key must each name where the input is)");
      }
    }
  }

  /** The inputs of {@code message}, as unpacked by {@link MsgpackNumpy#unpack}, for {@code model}. */
  Inputs read(Object message, ModelPackage model) {
    if (!(message instanceof Map<?, ?> observation)) {
      throw new IllegalArgumentException("observation: " + kind(message) + " (expected a dict with " + imageKey + ", "
          + stateKey + " and " + promptKey + ")");
    }
    List<PolicyFrontDoor.Frame> frames = new java.util.ArrayList<>();
    for (int c = 0; c < model.cameras().size(); c++) {
      String key = imageKey(model, c);
      String camera = model.cameras().size() == 1 ? "the camera image" : "camera " + model.cameras().get(c).name() + "'s image";
      String setting = c == 0 && !cameraKeys.containsKey(model.cameras().get(c).name()) ? "image-key"
          : "camera-keys." + model.cameras().get(c).name();
      frames.add(frame(find(observation, key, camera + ", a uint8 array [H, W, 3]", setting), key));
    }
    Object state = find(observation, stateKey, "the robot state, " + model.proprioNames().size() + " numbers "
        + model.proprioNames(), "state-key");
    Object prompt = find(observation, promptKey, "the instruction, a string", "prompt-key");
    return new Inputs(frames, proprio(state, model), instruction(prompt));
  }

  /**
   * Where camera {@code index} of {@code model} is: its camera-keys entry, else image-key for the
   * first camera and {@code observation/<camera>_image} for the others.
   */
  String imageKey(ModelPackage model, int index) {
    String camera = model.cameras().get(index).name();
    return cameraKeys.getOrDefault(camera, index == 0 ? imageKey : "observation/" + camera + "_image");
  }

  private Object find(Map<?, ?> observation, String key, String what, String setting) {
    if (observation.containsKey(key)) {
      return observation.get(key);
    }
    Object node = observation;
    for (String part : key.split("/")) {
      if (!(node instanceof Map<?, ?> map) || !map.containsKey(part)) {
        throw new IllegalArgumentException(key + ": missing (keys sent: " + keys(observation) + "; expected " + what
            + " there, vla.policy.openpi." + setting + ")");
      }
      node = map.get(part);
    }
    return node;
  }

  private PolicyFrontDoor.Frame frame(Object value, String imageKey) {
    if (!(value instanceof MsgpackNumpy.NdArray array)) {
      throw new IllegalArgumentException(imageKey + ": " + kind(value) + " (expected a uint8 array [H, W, 3])");
    }
    int[] shape = array.shape();
    if (!array.isUint8() || shape.length != 3 || (shape[2] != 3 && shape[0] != 3) || shape[0] == 0 || shape[1] == 0
        || shape[2] == 0) {
      throw new IllegalArgumentException(imageKey + ": " + array.describe() + " (expected uint8 [H, W, 3] or [3, H, W],"
          + " RGB)");
    }
    if (shape[2] == 3) {
      return new PolicyFrontDoor.Frame(ImageFormat.RGB8, array.data(), shape[1], shape[0]);
    }
    // Channels first (ALOHA's cameras): interleave to the RGB8 rows the preprocessor reads.
    int height = shape[1];
    int width = shape[2];
    byte[] planes = array.data();
    byte[] rgb = new byte[planes.length];
    int plane = height * width;
    for (int pixel = 0; pixel < plane; pixel++) {
      rgb[3 * pixel] = planes[pixel];
      rgb[3 * pixel + 1] = planes[plane + pixel];
      rgb[3 * pixel + 2] = planes[2 * plane + pixel];
    }
    return new PolicyFrontDoor.Frame(ImageFormat.RGB8, rgb, width, height);
  }

  private float[] proprio(Object value, ModelPackage model) {
    int expected = model.proprioNames().size();
    float[] values;
    if (value instanceof MsgpackNumpy.NdArray array) {
      if (array.shape().length != 1 || array.size() != expected) {
        throw new IllegalArgumentException(stateKey + ": " + array.describe() + " (expected shape [" + expected + "]: "
            + model.proprioNames() + ")");
      }
      values = array.floats(stateKey);
    } else if (value instanceof List<?> list && list.size() == expected) {
      values = new float[expected];
      for (int i = 0; i < expected; i++) {
        if (!(list.get(i) instanceof Number number)) {
          throw new IllegalArgumentException(stateKey + "[" + i + "]: " + kind(list.get(i)) + " (expected a number, "
              + model.proprioNames().get(i) + ")");
        }
        values[i] = number.floatValue();
      }
    } else {
      throw new IllegalArgumentException(stateKey + ": " + kind(value) + " (expected " + expected + " numbers "
          + model.proprioNames() + ", a float array or a list)");
    }
    for (int i = 0; i < values.length; i++) {
      if (!Float.isFinite(values[i])) {
        throw new IllegalArgumentException(stateKey + "[" + i + "] (" + model.proprioNames().get(i) + "): " + values[i]
            + " (expected a finite number)");
      }
    }
    return values;
  }

  private String instruction(Object value) {
    if (!(value instanceof String text) || text.isBlank()) {
      throw new IllegalArgumentException(promptKey + ": " + kind(value) + " (expected the instruction, a non-empty"
          + " string)");
    }
    return text.trim();
  }

  private static String keys(Map<?, ?> observation) {
    List<String> names = observation.keySet().stream().map(String::valueOf).map(MsgpackNumpy::abbreviate).sorted()
        .limit(16).toList();
    return names + (observation.size() > names.size() ? " and " + (observation.size() - names.size()) + " more" : "");
  }

  /** What a value is, for messages. */
  static String kind(Object value) {
    return switch (value) {
      case null -> "None";
      case MsgpackNumpy.NdArray array -> array.describe();
      case Map<?, ?> map -> "a dict";
      case List<?> list -> "a list of " + list.size();
      case String text -> "the string \"" + MsgpackNumpy.abbreviate(text) + "\"";
      case byte[] bytes -> bytes.length + " bytes";
      case Boolean flag -> flag ? "True" : "False";
      case Number number -> "the number " + number;
      default -> value.getClass().getSimpleName();
    };
  }

  @Override
  public String toString() {
    return "image " + imageKey + ", state " + stateKey + ", prompt " + promptKey;
  }
}

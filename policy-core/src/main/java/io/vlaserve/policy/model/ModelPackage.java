package io.vlaserve.policy.model;

import io.vlaserve.tokenizer.ActionProfile;
import io.vlaserve.tokenizer.ProfileFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A model package on disk (docs/model-package.md): the {@code model.json} manifest, validated, with
 * paths resolved against the package folder. Immutable.
 *
 * @param directory the package folder
 * @param name model name, e.g. "tiny-vla"
 * @param version model version
 * @param prefillGraph path of the prefill ONNX graph
 * @param decodeGraph path of the decode ONNX graph; null for a parallel-decoding model, which has none
 * @param decoding how the model produces a chunk's action tokens
 * @param cameras the cameras the model sees, in the order their frames are laid out in a request
 * @param text how an instruction becomes prompt ids: the word list, or a tokenizer.json and template (/3)
 * @param proprioNames proprioception the model reads, in order
 * @param actionProfile the action tokenizer profile (token slices for masking, un-normalisation)
 * @param chunkLength steps per action chunk (H)
 * @param stepPeriod time between chunk steps
 * @param vocabSize logits per position (V), the graphs' logits width, padding included
 * @param layers transformer layers (N in the KV cache shape)
 * @param heads attention heads
 * @param headDim size of one head
 * @param promptLength prompt positions (T0)
 * @param skills instructions the model was trained on
 * @param parityFile parity cases, or null
 * @param parityTolerance largest allowed logit difference in the parity check
 * @param manifest the whole manifest, for metadata not modelled here (training, metrics)
 * @param meanReadout the action dimensions (indices) a greedy request of a parallel-decoding model
 *     reads as the mean of its position's token distribution rather than its most likely token
 *     ({@code action.mean_readout}); empty for token readout
 */
public record ModelPackage(
    Path directory,
    String name,
    String version,
    Path prefillGraph,
    Path decodeGraph,
    Decoding decoding,
    List<CameraInput> cameras,
    PromptEncoder text,
    List<String> proprioNames,
    ActionProfile actionProfile,
    int chunkLength,
    Duration stepPeriod,
    int vocabSize,
    int layers,
    int heads,
    int headDim,
    int promptLength,
    List<String> skills,
    Path parityFile,
    double parityTolerance,
    JsonNode manifest,
    List<Integer> meanReadout) {

  /**
   * The package served when none is configured, relative to {@code $VLA_HOME}: the embedded model
   * that decodes a whole chunk in one pass (the autoregressive {@code models/tiny-vla} is needed for
   * real-time chunking's committed prefixes).
   */
  public static final String SHIPPED = "models/tiny-vla-parallel";
  /** The current format: /2 plus a Hugging Face tokenizer and prompt template (docs/model-package.md). */
  public static final String FORMAT = "vla-serve-model/3";
  /** Per-layer KV cache I/O with a word-list vocabulary; still loads. */
  public static final String FORMAT_WORD_LIST = "vla-serve-model/2";
  /** The first format: the same files, but the graphs carry the KV cache as one packed tensor. */
  public static final String FORMAT_PACKED_KV = "vla-serve-model/1";
  private static final JsonMapper JSON = JsonMapper.builder().build();

  /** How a model produces the action tokens of a chunk. */
  public enum Decoding {
    /** One token per graph run, each fed back through the KV cache (prefill, then decode). */
    AUTOREGRESSIVE,
    /**
     * Every action token of the chunk from one pass of the prefill graph over placeholders
     * (OpenVLA-OFT style): its logits output is {@code [B, H * D, V]}. No decode graph, no cache.
     */
    PARALLEL
  }

  /** Action tokens of a whole chunk: H x D. */
  public int actionTokens() {
    return chunkLength * actionDimensions();
  }

  /**
   * A camera the model sees and its input size; the prefill graph reads its frames as
   * {@code image} (a model with one camera) or {@code image.<name>} (several).
   *
   * @param name camera name, matched against the frames' camera names, e.g. "third_person", "wrist"
   * @param width input width in pixels
   * @param height input height in pixels
   * @param resize whether frames of another size are resized to the input size (if the server allows
   *     resizing) or refused
   * @param centerCrop fraction of every frame's area kept by a centred crop before resizing; 1 for none
   */
  public record CameraInput(String name, int width, int height, boolean resize, double centerCrop) {
    /** A camera whose frames are resized whole (the default). */
    public CameraInput(String name, int width, int height) {
      this(name, width, height, true, 1);
    }

    /** RGB bytes of one frame at the input size. */
    public int frameBytes() {
      return width * height * 3;
    }
  }

  /** RGB bytes of one request's frames: every camera's, in {@link #cameras} order. */
  public int imageBytes() {
    return cameras.stream().mapToInt(CameraInput::frameBytes).sum();
  }

  /** The name of the prefill graph's input for {@code camera}: {@code image}, or {@code image.<name>} for several. */
  public String imageInput(CameraInput camera) {
    return cameras.size() == 1 ? "image" : "image." + camera.name();
  }

  /** The only camera: for paths that serve one camera, which refuse several with this message. */
  public CameraInput onlyCamera() {
    if (cameras.size() != 1) {
      throw new UnsupportedOperationException("model " + name + " sees " + cameras.size() + " cameras "
          + cameras.stream().map(CameraInput::name).toList() + "; this path serves models with one");
    }
    return cameras.get(0);
  }

  /** The only camera's name ({@link #onlyCamera}). */
  public String camera() {
    return onlyCamera().name();
  }

  /** The only camera's input width ({@link #onlyCamera}). */
  public int imageWidth() {
    return onlyCamera().width();
  }

  /** The only camera's input height ({@link #onlyCamera}). */
  public int imageHeight() {
    return onlyCamera().height();
  }

  /** Action dimensions per step. */
  public int actionDimensions() {
    return actionProfile.dimensionCount();
  }

  /**
   * The SHA-256 of the model's graphs (prefill, then decode), lowercase hex: what tells two
   * packages of the same name and version apart. Reads every byte of both, seconds for a large model.
   */
  public String graphsSha256() {
    try {
      java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[1 << 16];
      for (Path graph : graphFiles()) {
        try (java.io.InputStream in = Files.newInputStream(graph)) {
          for (int read; (read = in.read(buffer)) > 0; ) {
            digest.update(buffer, 0, read);
          }
        }
      }
      return java.util.HexFormat.of().formatHex(digest.digest());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The files that hold the model's computation: each graph, then its external weights
   * ({@code <graph>.data}, as large exports write them) when present.
   */
  public List<Path> graphFiles() {
    List<Path> files = new ArrayList<>();
    for (Path graph : decodeGraph == null ? List.of(prefillGraph) : List.of(prefillGraph, decodeGraph)) {
      files.add(graph);
      Path weights = graph.resolveSibling(graph.getFileName() + ".data");
      if (Files.isRegularFile(weights)) {
        files.add(weights);
      }
    }
    return List.copyOf(files);
  }

  /** Reads and validates {@code directory/model.json}. */
  public static ModelPackage load(Path directory) {
    Path manifestFile = directory.resolve("model.json");
    if (!Files.isRegularFile(manifestFile)) {
      throw new InvalidModelPackageException(manifestFile + " not found (expected a model package folder with model.json;"
          + " see docs/model-package.md)");
    }
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(manifestFile));
    } catch (IOException | JacksonException e) {
      throw new InvalidModelPackageException(manifestFile + ": not readable JSON (" + e.getMessage() + ")", e);
    }
    Reader m = new Reader(root, manifestFile.toString());
    String format = m.text("format");
    if (FORMAT_PACKED_KV.equals(format)) {
      throw new InvalidModelPackageException(manifestFile + ": format \"" + format + "\" carries the KV cache as one"
          + " packed tensor (past_kv/present_kv), which costs three copies of the cache per decode step; convert the"
          + " package to \"" + FORMAT_WORD_LIST + "\" (per-layer cache I/O, bit-identical results) with"
          + " `/usr/bin/python3 models/tiny-vla/tooling/kv_io.py " + directory + "`");
    }
    if (!FORMAT.equals(format) && !FORMAT_WORD_LIST.equals(format)) {
      throw new InvalidModelPackageException(manifestFile + ": format \"" + format + "\" (expected: \"" + FORMAT
          + "\" or \"" + FORMAT_WORD_LIST + "\")");
    }
    JsonNode action = m.object("action");
    ActionProfile profile;
    try {
      profile = ProfileFiles.parse(m.object(action, "action.profile").toString(), manifestFile + "#action.profile");
    } catch (RuntimeException e) {
      throw new InvalidModelPackageException(e.getMessage(), e);
    }
    JsonNode architecture = m.object("architecture");
    JsonNode graphs = m.object("graphs");
    JsonNode parity = root.get("parity");
    int vocabSize = m.integer(root, "vocab_size");
    Decoding decoding = decoding(root, format, manifestFile.toString());
    JsonNode maxPositions = architecture.get("max_positions");
    int positionsNeeded = m.integer(architecture, "prompt_length") + m.integer(action, "chunk_length")
        * profile.dimensionCount();
    if (maxPositions != null && maxPositions.isIntegralNumber() && maxPositions.intValue() < positionsNeeded) {
      throw new InvalidModelPackageException(manifestFile + ": architecture.max_positions " + maxPositions.intValue()
          + " is fewer than a whole chunk needs: prompt_length " + m.integer(architecture, "prompt_length") + " + "
          + m.integer(action, "chunk_length") + " x " + profile.dimensionCount() + " action tokens = " + positionsNeeded);
    }
    PromptEncoder text = prompt(directory, m, format, manifestFile.toString());
    try {
      checkActionTokens(profile, text, vocabSize);
    } catch (InvalidModelPackageException e) {
      text.close();
      throw new InvalidModelPackageException(manifestFile + ": " + e.getMessage(), e);
    }
    try {
      return new ModelPackage(
          directory,
          m.text("name"),
          m.text("version"),
          m.file(directory, m.text(graphs, "prefill")),
          decoding == Decoding.PARALLEL ? null : m.file(directory, m.text(graphs, "decode")),
          decoding,
          cameras(m, format, manifestFile.toString()),
          text,
          m.strings(root, "proprio_names"),
          profile,
          m.integer(action, "chunk_length"),
          Duration.ofNanos(Math.round(m.number(action, "step_period_s") * 1e9)),
          vocabSize,
          m.integer(architecture, "layers"),
          m.integer(architecture, "heads"),
          m.integer(architecture, "head_dim"),
          m.integer(architecture, "prompt_length"),
          root.has("skills") ? m.strings(root, "skills") : List.of(),
          parity == null ? null : m.file(directory, m.text(parity, "file")),
          parity == null ? 0 : m.number(parity, "tolerance"),
          root,
          meanReadout(action, profile, decoding, manifestFile.toString()));
    } catch (RuntimeException e) {
      text.close(); // the tokenizer's native memory
      throw e;
    }
  }

  /**
   * {@code action.mean_readout}: names of action dimensions whose greedy value is the mean of the
   * token distribution (bin values weighted by their probabilities within the dimension's slice).
   * Only for parallel decoding: there every position's distribution comes from the prompt alone,
   * where an autoregressive model's depends on the tokens chosen before it.
   */
  private static List<Integer> meanReadout(JsonNode action, ActionProfile profile, Decoding decoding, String source) {
    JsonNode names = action.get("mean_readout");
    if (names == null) {
      return List.of();
    }
    List<String> dimensionNames = profile.dimensions().stream().map(d -> d.name()).toList();
    if (!names.isArray() || names.isEmpty()) {
      throw new InvalidModelPackageException(source + ": action.mean_readout: " + names
          + " (expected a non-empty list of action dimension names, e.g. [\"dx\", \"dy\"], of " + dimensionNames + ")");
    }
    if (decoding != Decoding.PARALLEL) {
      throw new InvalidModelPackageException(source + ": action.mean_readout needs decoding \"parallel\": an"
          + " autoregressive model conditions each token on the ones chosen before it, so it is read token by token");
    }
    java.util.ArrayList<Integer> dimensions = new java.util.ArrayList<>();
    for (JsonNode name : names) {
      int d = dimensionNames.indexOf(name.asString(""));
      if (d < 0) {
        throw new InvalidModelPackageException(source + ": action.mean_readout: " + name
            + " is not a dimension of action profile " + profile.name() + " " + dimensionNames);
      }
      if (dimensions.contains(d)) {
        throw new InvalidModelPackageException(source + ": action.mean_readout: " + name + " is listed twice");
      }
      dimensions.add(d);
    }
    return List.copyOf(dimensions);
  }

  /** {@code "autoregressive"} (the default) or, in /3, {@code "parallel"}. */
  private static Decoding decoding(JsonNode root, String format, String source) {
    JsonNode decoding = root.get("decoding");
    if (decoding == null || "autoregressive".equals(decoding.asString(""))) {
      return Decoding.AUTOREGRESSIVE;
    }
    if (!"parallel".equals(decoding.asString(""))) {
      throw new InvalidModelPackageException(source + ": decoding: " + decoding
          + " (expected: \"autoregressive\" or \"parallel\")");
    }
    if (!FORMAT.equals(format)) {
      throw new InvalidModelPackageException(source + ": decoding \"parallel\" needs format \"" + FORMAT
          + "\" (this package says \"" + format + "\")");
    }
    if (root.path("graphs").has("decode")) {
      throw new InvalidModelPackageException(source + ": graphs.decode with decoding \"parallel\" (expected only"
          + " graphs.prefill: a parallel model produces every action token in one pass)");
    }
    return Decoding.PARALLEL;
  }

  /** {@code image} (one camera) or, in /3, {@code images} (several, each named, in graph order). */
  private static List<CameraInput> cameras(Reader m, String format, String source) {
    JsonNode images = m.root().get("images");
    if (images == null) {
      JsonNode image = m.object("image");
      return List.of(new CameraInput(image.has("camera") ? m.text(image, "camera") : "third_person",
          m.integer(image, "width"), m.integer(image, "height")));
    }
    if (!FORMAT.equals(format)) {
      throw new InvalidModelPackageException(source + ": images needs format \"" + FORMAT + "\" (this package says \""
          + format + "\"; \"" + FORMAT_WORD_LIST + "\" has one camera, in image)");
    }
    if (m.root().has("image")) {
      throw new InvalidModelPackageException(source + ": both image and images (expected one of them)");
    }
    if (!images.isArray() || images.isEmpty()) {
      throw new InvalidModelPackageException(source + ": images: " + images
          + " (expected: a non-empty array of {\"camera\": name, \"width\": w, \"height\": h})");
    }
    List<CameraInput> cameras = new ArrayList<>();
    java.util.Set<String> names = new java.util.HashSet<>();
    for (JsonNode image : images) {
      String name = m.text(image, "camera");
      if (!name.matches("[A-Za-z0-9_-]+")) {
        throw new InvalidModelPackageException(source + ": images: camera \"" + name
            + "\" (expected letters, digits, '_' or '-': it names the graph input image." + name + ")");
      }
      if (!names.add(name)) {
        throw new InvalidModelPackageException(source + ": images: camera \"" + name + "\" twice");
      }
      String resize = image.path("resize").asString("bilinear");
      if (!resize.equals("bilinear") && !resize.equals("none")) {
        throw new InvalidModelPackageException(source + ": images: camera \"" + name + "\": resize \"" + resize
            + "\" (expected: \"bilinear\", frames of any size resized to the input size, or \"none\", only"
            + " frames of the input size)");
      }
      JsonNode crop = image.get("center_crop");
      if (crop != null && !(crop.isNumber() && crop.doubleValue() > 0 && crop.doubleValue() <= 1)) {
        throw new InvalidModelPackageException(source + ": images: camera \"" + name + "\": center_crop " + crop
            + " (expected: the fraction of the frame's area kept, 0 < c <= 1, e.g. 0.9 as OpenVLA's fine-tunes)");
      }
      cameras.add(new CameraInput(name, m.integer(image, "width"), m.integer(image, "height"),
          resize.equals("bilinear"), crop == null ? 1 : crop.doubleValue()));
    }
    return List.copyOf(cameras);
  }

  /** The word list (/2, or /3 without a tokenizer), or the tokenizer.json and template of /3. */
  private static PromptEncoder prompt(Path directory, Reader m, String format, String source) {
    JsonNode text = m.object("text");
    if (!text.has("tokenizer")) {
      return TextVocabulary.fromManifest(text, source);
    }
    if (!FORMAT.equals(format)) {
      throw new InvalidModelPackageException(source + ": text.tokenizer needs format \"" + FORMAT + "\" (this package"
          + " says \"" + format + "\")");
    }
    return HuggingFacePrompt.fromManifest(text, m.file(directory, m.text(text, "tokenizer")), source);
  }

  /**
   * The action tokens must be logits the graphs produce, and must either follow the text vocabulary
   * (the tiny VLA: text ids 0..63, actions 64..319) or be its last ids (OpenVLA: the last 256 of
   * Llama's 32000, which the model was fine-tuned to repurpose). Anything else is a layout the model
   * was not trained with; the usual cause is counting action tokens from the padded logits width
   * instead of the tokenizer's vocabulary (vllm-omni#6271: 32064 for 32000 shifts every bin by 64).
   */
  static void checkActionTokens(ActionProfile profile, PromptEncoder text, int logitsWidth) {
    int lowest = Integer.MAX_VALUE;
    int highest = -1;
    for (int d = 0; d < profile.dimensionCount(); d++) {
      lowest = Math.min(lowest, profile.tokenizer().allowedTokens(d).first());
      highest = Math.max(highest, profile.tokenizer().allowedTokens(d).last());
    }
    if (highest >= logitsWidth) {
      throw new InvalidModelPackageException("action tokens reach " + highest + " (expected: < vocab_size "
          + logitsWidth + ", the graphs' logits width)");
    }
    boolean afterText = lowest >= text.totalVocabularySize();
    boolean endOfText = highest == text.baseVocabularySize() - 1;
    if (!afterText && !endOfText) {
      String shift = highest >= text.baseVocabularySize()
          ? " They are shifted by " + (highest - (text.baseVocabularySize() - 1)) + " from the vocabulary's end: is the"
              + " profile's vocab_size the padded logits width rather than the tokenizer's " + text.baseVocabularySize()
              + " (vllm-omni#6271)?"
          : "";
      throw new InvalidModelPackageException("action tokens " + lowest + ".." + highest + " overlap the text"
          + " vocabulary (" + text.baseVocabularySize() + " tokens, " + text.totalVocabularySize() + " with added"
          + " tokens) without being its last ids (expected: ids from " + text.totalVocabularySize() + " up, after the"
          + " text, or ending at " + (text.baseVocabularySize() - 1) + ", OpenVLA's convention)." + shift);
    }
  }

  /** Typed access to manifest fields with errors that name the field. */
  private record Reader(JsonNode root, String source) {
    JsonNode object(String field) {
      return object(root, field);
    }

    JsonNode object(JsonNode node, String field) {
      String leaf = field.contains(".") ? field.substring(field.lastIndexOf('.') + 1) : field;
      JsonNode value = node.get(leaf);
      if (value == null || !value.isObject()) {
        throw new InvalidModelPackageException(source + ": " + field + ": missing (expected: an object)");
      }
      return value;
    }

    String text(String field) {
      return text(root, field);
    }

    String text(JsonNode node, String field) {
      JsonNode value = node.get(field);
      if (value == null || !value.isString()) {
        throw new InvalidModelPackageException(source + ": " + field + ": " + value + " (expected: a string)");
      }
      return value.stringValue();
    }

    int integer(JsonNode node, String field) {
      JsonNode value = node.get(field);
      if (value == null || !value.isIntegralNumber() || value.intValue() <= 0) {
        throw new InvalidModelPackageException(source + ": " + field + ": " + value + " (expected: a positive integer)");
      }
      return value.intValue();
    }

    double number(JsonNode node, String field) {
      JsonNode value = node.get(field);
      if (value == null || !value.isNumber() || !(value.doubleValue() > 0)) {
        throw new InvalidModelPackageException(source + ": " + field + ": " + value + " (expected: a positive number)");
      }
      return value.doubleValue();
    }

    List<String> strings(JsonNode node, String field) {
      JsonNode value = node.get(field);
      if (value == null || !value.isArray()) {
        throw new InvalidModelPackageException(source + ": " + field + ": " + value + " (expected: an array of strings)");
      }
      List<String> out = new ArrayList<>();
      value.forEach(v -> out.add(v.asString()));
      return List.copyOf(out);
    }

    Path file(Path directory, String name) {
      Path file = directory.resolve(name).normalize();
      if (!file.startsWith(directory.normalize())) {
        throw new InvalidModelPackageException(source + ": " + name + " points outside the package folder");
      }
      if (!Files.isRegularFile(file)) {
        throw new InvalidModelPackageException(source + ": " + file + " not found (named in model.json)");
      }
      return file;
    }
  }
}

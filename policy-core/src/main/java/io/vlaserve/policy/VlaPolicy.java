package io.vlaserve.policy;

import io.vlaserve.policy.decode.ActionDecoder;
import io.vlaserve.policy.decode.MaskedSampler;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.engine.VlaEngine;
import io.vlaserve.policy.model.ModelPackage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/**
 * The transport-free VLA policy: observation in, action chunk out. Prefills the prompt, then
 * decodes H x D action tokens with the KV cache, masking each position's logits to its dimension's
 * token slice, and un-normalises the tokens into actions with the model's tokenizer profile.
 *
 * <p>A request is validated once ({@link #check}), then written into a batch's prompt arrays
 * ({@link #writePrompt}) without being checked again; sampling and detokenizing are the
 * {@link ActionDecoder}'s, shared with the continuous-batching scheduler.
 *
 * <p>Thread-safe: every call owns its cache and samplers. Requests of one call are decoded in
 * lockstep as one batch; each has its own random generator, so a seeded request gets the same
 * tokens whether it runs alone or batched.
 */
public final class VlaPolicy {
  private final ModelPackage model;
  private final VlaEngine engine;
  private final ActionDecoder decoder;
  private final LongSupplier clock;
  /** For each dimension the model reads as a mean ({@link ModelPackage#meanReadout}): its bins' values; else null. */
  private final double[][] binValues;

  public VlaPolicy(ModelPackage model, VlaEngine engine) {
    this(model, engine, System::nanoTime);
  }

  /** @param clock nanoseconds, for the timings each result reports */
  public VlaPolicy(ModelPackage model, VlaEngine engine, LongSupplier clock) {
    this.model = model;
    this.engine = engine;
    this.decoder = new ActionDecoder(model.actionProfile().tokenizer(), model.actionDimensions());
    this.clock = clock;
    this.binValues = new double[model.actionDimensions()][];
    io.vlaserve.tokenizer.ActionTokenizer tokenizer = model.actionProfile().tokenizer();
    for (int d : model.meanReadout()) {
      io.vlaserve.tokenizer.TokenRange slice = tokenizer.allowedTokens(d);
      binValues[d] = new double[slice.size()];
      for (int token = slice.first(); token <= slice.last(); token++) {
        binValues[d][token - slice.first()] = tokenizer.decodeToken(d, token);
      }
    }
  }

  public ModelPackage model() {
    return model;
  }

  public VlaEngine engine() {
    return engine;
  }

  public PolicyResult infer(PolicyRequest request) {
    return infer(List.of(request)).get(0);
  }

  /**
   * Runs a batch of requests together.
   *
   * @throws IllegalArgumentException naming the request and field when an input does not fit the model
   * @throws io.vlaserve.policy.decode.DecodingException when the model's logits admit no valid token
   */
  public List<PolicyResult> infer(List<PolicyRequest> requests) {
    if (model.decoding() == ModelPackage.Decoding.PARALLEL) {
      return inferParallel(requests);
    }
    int b = requests.size();
    int dims = model.actionDimensions();
    int pixels = model.imageBytes();
    int textLength = model.text().maxTokens();
    int proprioLength = model.proprioNames().size();
    byte[] images = new byte[b * pixels];
    long[] instructions = new long[b * textLength];
    float[] proprio = new float[b * proprioLength];
    int maxSteps = 0;
    for (int r = 0; r < b; r++) {
      PolicyRequest request = requests.get(r);
      check(r, request);
      writePrompt(r, request, images, instructions, proprio);
      maxSteps = Math.max(maxSteps, request.chunkLength());
    }
    int newTokens = maxSteps * dims;
    int vocab = model.vocabSize();
    float[] logits = new float[b * vocab];
    int[][] tokens = new int[b][];
    float[][] logProbabilities = new float[b][];
    SplittableRandom[] randoms = new SplittableRandom[b];
    MaskedSampler sampler = decoder.newSampler();
    int[][] forced = new int[b][];
    for (int r = 0; r < b; r++) {
      tokens[r] = new int[requests.get(r).chunkLength() * dims];
      logProbabilities[r] = new float[tokens[r].length];
      randoms[r] = new SplittableRandom(requests.get(r).sampling().seed());
      forced[r] = decoder.prefixTokens(requests.get(r).committedPrefix());
    }

    long started = clock.getAsLong();
    try (KvCache cache = engine.prefill(new PromptBatch(b, images, instructions, proprio), logits, newTokens)) {
      long prefilled = clock.getAsLong();
      long[] tokenIds = new long[b];
      long[] positions = new long[b];
      // Lockstep sequences all attend to every cached position; the engine reads B x (length + 1).
      float[] mask = new float[b * (model.promptLength() + newTokens)];
      Arrays.fill(mask, 1f);
      for (int t = 0; t < newTokens; t++) {
        for (int r = 0; r < b; r++) {
          // Sequences past their own chunk length keep decoding in lockstep; their tokens are dropped.
          PolicyRequest request = requests.get(r);
          if (t < forced[r].length) {
            decoder.force(sampler, logits, r * vocab, t, request.sampling(), forced[r][t]);
          } else {
            decoder.sample(sampler, logits, r * vocab, t, request.sampling(), randoms[r]);
          }
          if (t < tokens[r].length) {
            tokens[r][t] = sampler.token();
            logProbabilities[r][t] = (float) sampler.logProbability();
          }
          tokenIds[r] = sampler.token();
          positions[r] = cache.length();
        }
        if (t == newTokens - 1) {
          break; // the last token needs no further logits
        }
        engine.decode(cache, tokenIds, positions, mask, logits);
      }
      long decoded = clock.getAsLong();
      double[][][] actions = new double[b][][];
      for (int r = 0; r < b; r++) {
        actions[r] = decoder.actions(tokens[r], requests.get(r).chunkLength());
      }
      long finished = clock.getAsLong();
      List<PolicyResult> results = new ArrayList<>(b);
      for (int r = 0; r < b; r++) {
        results.add(afterPrefix(requests.get(r), actions[r], tokens[r], logProbabilities[r], prefilled - started,
            decoded - prefilled, finished - decoded));
      }
      return results;
    }
  }

  /**
   * A parallel-decoding model: one pass gives every action token's logits; each position is then
   * masked to its dimension's slice and sampled with the request's own generator, in the same order
   * and with the same rules as autoregressive decoding.
   */
  private List<PolicyResult> inferParallel(List<PolicyRequest> requests) {
    int b = requests.size();
    byte[] images = new byte[b * model.imageBytes()];
    long[] instructions = new long[b * model.text().maxTokens()];
    float[] proprio = new float[b * model.proprioNames().size()];
    for (int r = 0; r < b; r++) {
      check(r, requests.get(r));
      writePrompt(r, requests.get(r), images, instructions, proprio);
    }
    int positions = model.actionTokens();
    int vocab = model.vocabSize();
    float[] logits = new float[b * positions * vocab];
    long started = clock.getAsLong();
    engine.predictAll(new PromptBatch(b, images, instructions, proprio), logits);
    long predicted = clock.getAsLong();
    MaskedSampler sampler = decoder.newSampler();
    List<PolicyResult> results = new ArrayList<>(b);
    for (int r = 0; r < b; r++) {
      PolicyRequest request = requests.get(r);
      SplittableRandom random = new SplittableRandom(request.sampling().seed());
      int[] tokens = new int[request.chunkLength() * model.actionDimensions()];
      float[] logProbabilities = new float[tokens.length];
      for (int t = 0; t < tokens.length; t++) {
        decoder.sample(sampler, logits, (r * positions + t) * vocab, t, request.sampling(), random);
        tokens[t] = sampler.token();
        logProbabilities[t] = (float) sampler.logProbability();
      }
      long sampled = clock.getAsLong();
      double[][] actions = decoder.actions(tokens, request.chunkLength());
      if (request.sampling().greedy()) {
        readMeans(logits, r * positions, actions);
      }
      results.add(new PolicyResult(actions, tokens, logProbabilities, predicted - started, sampled - predicted,
          clock.getAsLong() - sampled));
    }
    return results;
  }

  /**
   * Replaces the value of each mean-readout dimension ({@link ModelPackage#meanReadout}) in
   * {@code actions} with the mean of its position's distribution over the dimension's slice: a
   * correction the model is unsure of moves the robot part of the way, where the most likely token
   * (often "no motion") would not move it at all. The tokens stay the most likely ones.
   *
   * @param firstPosition the request's first chunk position in {@code logits}
   */
  private void readMeans(float[] logits, int firstPosition, double[][] actions) {
    int dims = model.actionDimensions();
    int vocab = model.vocabSize();
    io.vlaserve.tokenizer.ActionTokenizer tokenizer = model.actionProfile().tokenizer();
    for (int d : model.meanReadout()) {
      int first = tokenizer.allowedTokens(d).first();
      double[] values = binValues[d];
      for (int s = 0; s < actions.length; s++) {
        int base = (firstPosition + s * dims + d) * vocab + first;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < values.length; i++) {
          max = Math.max(max, logits[base + i]);
        }
        double weights = 0;
        double sum = 0;
        for (int i = 0; i < values.length; i++) {
          double weight = Math.exp(logits[base + i] - max);
          weights += weight;
          sum += weight * values[i];
        }
        double mean = sum / weights;
        if (Double.isFinite(mean)) { // else the most likely token's value stands
          actions[s][d] = mean;
        }
      }
    }
  }

  /**
   * The result of a request whose whole chunk was decoded: the actions, tokens and log probabilities
   * after its committed prefix (all of them without one).
   */
  public PolicyResult afterPrefix(PolicyRequest request, double[][] actions, int[] tokens, float[] logProbabilities,
      long prefillNanos, long decodeNanos, long postprocessNanos) {
    int d = request.prefixSteps();
    if (d == 0) {
      return new PolicyResult(actions, tokens, logProbabilities, prefillNanos, decodeNanos, postprocessNanos);
    }
    int dims = model.actionDimensions();
    return new PolicyResult(Arrays.copyOfRange(actions, d, actions.length),
        Arrays.copyOfRange(tokens, d * dims, tokens.length),
        Arrays.copyOfRange(logProbabilities, d * dims, logProbabilities.length), prefillNanos, decodeNanos,
        postprocessNanos);
  }

  /**
   * Writes a request already {@link #check checked} as row {@code row} of a batch's prompt arrays
   * (see {@link PromptBatch}); checks nothing again.
   */
  public void writePrompt(int row, PolicyRequest request, byte[] images, long[] instructions, float[] proprio) {
    int pixels = model.imageBytes();
    int textLength = model.text().maxTokens();
    int proprioLength = model.proprioNames().size();
    System.arraycopy(request.image(), 0, images, row * pixels, pixels);
    model.text().encode(request.instruction(), instructions, row * textLength);
    System.arraycopy(request.proprio(), 0, proprio, row * proprioLength, proprioLength);
  }

  /**
   * Checks a request against the model, once, before it is queued or run.
   *
   * @throws IllegalArgumentException naming the field when the request does not fit the model
   */
  public void check(PolicyRequest request) {
    check(0, request);
  }

  /** The frames a request carries, e.g. "third_person 64x64 RGB + wrist 32x32 RGB". */
  static String describeFrames(ModelPackage model) {
    return model.cameras().stream()
        .map(c -> (model.cameras().size() == 1 ? "" : c.name() + " ") + c.width() + "x" + c.height() + " RGB")
        .collect(java.util.stream.Collectors.joining(" + "));
  }

  /** The decoder (sampling and detokenizing) every path of this model uses. */
  public ActionDecoder decoder() {
    return decoder;
  }

  private void check(int index, PolicyRequest request) {
    int pixels = model.imageBytes();
    int proprioLength = model.proprioNames().size();
    String at = "request " + index + ": ";
    if (request.image() == null || request.image().length != pixels) {
      throw new IllegalArgumentException(at + "image of " + (request.image() == null ? 0 : request.image().length)
          + " bytes (expected: " + describeFrames(model) + " = " + pixels + " bytes)");
    }
    if (request.proprio() == null || request.proprio().length != proprioLength) {
      throw new IllegalArgumentException(at + "proprio of " + (request.proprio() == null ? 0 : request.proprio().length)
          + " values (expected: " + proprioLength + ": " + model.proprioNames() + ")");
    }
    for (int i = 0; i < proprioLength; i++) {
      if (!Float.isFinite(request.proprio()[i])) {
        throw new IllegalArgumentException(at + "proprio[" + i + "] (" + model.proprioNames().get(i) + "): "
            + request.proprio()[i] + " (expected: a finite number)");
      }
    }
    if (request.chunkLength() < 1 || request.chunkLength() > model.chunkLength()) {
      throw new IllegalArgumentException(at + "chunk length " + request.chunkLength() + " (expected: 1.."
          + model.chunkLength() + ")");
    }
    if (request.prefixSteps() > 0 && model.decoding() == ModelPackage.Decoding.PARALLEL) {
      throw new IllegalArgumentException(at + "committed prefix of " + request.prefixSteps() + " steps, but model "
          + model.name() + " decodes every action token in one pass and cannot continue a prefix (send none, or"
          + " serve an autoregressive model for real-time chunking)");
    }
    if (request.prefixSteps() >= request.chunkLength()) {
      throw new IllegalArgumentException(at + "committed prefix of " + request.prefixSteps() + " steps for a chunk of "
          + request.chunkLength() + " (expected fewer steps than the chunk, so that at least one is decoded)");
    }
    try {
      decoder.prefixTokens(request.committedPrefix());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + e.getMessage(), e);
    }
    if (request.instruction() == null || request.instruction().isBlank()) {
      throw new IllegalArgumentException(at + "empty instruction (expected one of: " + String.join("; ", model.skills()) + ")");
    }
    model.text().problem(request.instruction()).ifPresent(problem -> {
      throw new IllegalArgumentException(at + problem + " (expected one of the model's skills: "
          + String.join("; ", model.skills()) + ")");
    });
  }
}

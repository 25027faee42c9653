package io.vlaserve.policy;

import io.vlaserve.policy.decode.MaskedSampler;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.engine.VlaEngine;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.tokenizer.ActionTokenizer;
import io.vlaserve.tokenizer.TokenRange;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The transport-free VLA policy: observation in, action chunk out. Prefills the prompt, then
 * decodes H x D action tokens with the KV cache, masking each position's logits to its dimension's
 * token slice, and un-normalises the tokens into actions with the model's tokenizer profile.
 *
 * <p>Thread-safe: every call owns its cache and samplers. Requests of one call are decoded in
 * lockstep as one batch; each has its own random generator, so a seeded request gets the same
 * tokens whether it runs alone or batched.
 */
public final class VlaPolicy {
  private final ModelPackage model;
  private final VlaEngine engine;
  private final ActionTokenizer tokenizer;

  public VlaPolicy(ModelPackage model, VlaEngine engine) {
    this.model = model;
    this.engine = engine;
    this.tokenizer = model.actionProfile().tokenizer();
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
    int b = requests.size();
    int dims = model.actionDimensions();
    int pixels = model.imageHeight() * model.imageWidth() * 3;
    int textLength = model.text().maxTokens();
    int proprioLength = model.proprioNames().size();
    byte[] images = new byte[b * pixels];
    long[] instructions = new long[b * textLength];
    float[] proprio = new float[b * proprioLength];
    int maxSteps = 0;
    for (int r = 0; r < b; r++) {
      PolicyRequest request = requests.get(r);
      writePrompt(r, request, images, instructions, proprio);
      maxSteps = Math.max(maxSteps, request.chunkLength());
    }
    int newTokens = maxSteps * dims;
    int vocab = model.vocabSize();
    float[] logits = new float[b * vocab];
    int[][] tokens = new int[b][];
    float[][] logProbabilities = new float[b][];
    SplittableRandom[] randoms = new SplittableRandom[b];
    MaskedSampler sampler = new MaskedSampler(maxSlice(dims));
    for (int r = 0; r < b; r++) {
      tokens[r] = new int[requests.get(r).chunkLength() * dims];
      logProbabilities[r] = new float[tokens[r].length];
      randoms[r] = new SplittableRandom(requests.get(r).sampling().seed());
    }

    long started = System.nanoTime();
    try (KvCache cache = engine.prefill(new PromptBatch(b, images, instructions, proprio), logits, newTokens)) {
      long prefilled = System.nanoTime();
      long[] tokenIds = new long[b];
      long[] positions = new long[b];
      // Lockstep sequences all attend to every cached position; the engine reads B x (length + 1).
      float[] mask = new float[b * (model.promptLength() + newTokens)];
      Arrays.fill(mask, 1f);
      for (int t = 0; t < newTokens; t++) {
        TokenRange allowed = tokenizer.allowedTokens(t % dims);
        for (int r = 0; r < b; r++) {
          // Sequences past their own chunk length keep decoding in lockstep; their tokens are dropped.
          PolicyRequest request = requests.get(r);
          sampler.sample(logits, r * vocab, allowed, request.sampling(), randoms[r]);
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
      long decoded = System.nanoTime();
      double[][][] actions = new double[b][][];
      for (int r = 0; r < b; r++) {
        int steps = requests.get(r).chunkLength();
        double[] flat = new double[steps * dims];
        tokenizer.decode(tokens[r], 0, flat, 0, steps);
        actions[r] = new double[steps][];
        for (int s = 0; s < steps; s++) {
          actions[r][s] = Arrays.copyOfRange(flat, s * dims, (s + 1) * dims);
        }
      }
      long finished = System.nanoTime();
      List<PolicyResult> results = new ArrayList<>(b);
      for (int r = 0; r < b; r++) {
        results.add(new PolicyResult(actions[r], tokens[r], logProbabilities[r], prefilled - started,
            decoded - prefilled, finished - decoded));
      }
      return results;
    }
  }

  /**
   * Checks a request against the model and writes its prompt as row {@code row} of a batch's arrays
   * (see {@link PromptBatch}).
   *
   * @throws IllegalArgumentException naming the row and field when the request does not fit the model
   */
  public void writePrompt(int row, PolicyRequest request, byte[] images, long[] instructions, float[] proprio) {
    int pixels = model.imageHeight() * model.imageWidth() * 3;
    int textLength = model.text().maxTokens();
    int proprioLength = model.proprioNames().size();
    validate(row, request, pixels, proprioLength);
    System.arraycopy(request.image(), 0, images, row * pixels, pixels);
    int unknown = model.text().encode(request.instruction(), instructions, row * textLength);
    if (unknown > 0) {
      throw new IllegalArgumentException("request " + row + ": instruction \"" + request.instruction()
          + "\" has " + unknown + " word(s) the model does not know (expected one of its skills: "
          + String.join("; ", model.skills()) + ")");
    }
    System.arraycopy(request.proprio(), 0, proprio, row * proprioLength, proprioLength);
  }

  /** Checks a request against the model without running it. */
  public void check(PolicyRequest request) {
    int textLength = model.text().maxTokens();
    writePrompt(0, request, new byte[model.imageHeight() * model.imageWidth() * 3], new long[textLength],
        new float[model.proprioNames().size()]);
  }

  /** The model's action tokenizer. */
  public ActionTokenizer tokenizer() {
    return tokenizer;
  }

  /** The largest allowed token slice over the action dimensions (sizes a {@link MaskedSampler}). */
  public int maxSliceSize() {
    return maxSlice(model.actionDimensions());
  }

  private int maxSlice(int dims) {
    int max = 0;
    for (int d = 0; d < dims; d++) {
      max = Math.max(max, tokenizer.allowedTokens(d).size());
    }
    return max;
  }

  private void validate(int index, PolicyRequest request, int pixels, int proprioLength) {
    String at = "request " + index + ": ";
    if (request.image() == null || request.image().length != pixels) {
      throw new IllegalArgumentException(at + "image of " + (request.image() == null ? 0 : request.image().length)
          + " bytes (expected: " + model.imageWidth() + "x" + model.imageHeight() + " RGB = " + pixels + " bytes)");
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
    if (request.instruction() == null || request.instruction().isBlank()) {
      throw new IllegalArgumentException(at + "empty instruction (expected one of: " + String.join("; ", model.skills()) + ")");
    }
  }
}

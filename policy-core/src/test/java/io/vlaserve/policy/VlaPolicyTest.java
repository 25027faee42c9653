package io.vlaserve.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vlaserve.policy.decode.DecodingException;
import io.vlaserve.policy.decode.SamplingParams;
import io.vlaserve.policy.engine.KvCache;
import io.vlaserve.policy.engine.OnnxRuntimeEngine;
import io.vlaserve.policy.engine.PromptBatch;
import io.vlaserve.policy.engine.VlaEngine;
import io.vlaserve.policy.model.ModelPackage;
import io.vlaserve.tokenizer.TokenRange;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VlaPolicyTest {
  private final ModelPackage model = ShippedModel.load();
  private final OnnxRuntimeEngine engine = new OnnxRuntimeEngine(model, 1);
  private final VlaPolicy policy = new VlaPolicy(model, engine);

  @AfterAll
  void close() {
    engine.close();
  }

  private PolicyRequest request(long seed, SamplingParams sampling) {
    SplittableRandom random = new SplittableRandom(seed);
    byte[] image = new byte[model.imageWidth() * model.imageHeight() * 3];
    for (int i = 0; i < image.length; i++) {
      image[i] = (byte) (90 + random.nextInt(40));
    }
    float[] proprio = {0.5f, 0.0f, 0.2f, 0, 0, 0, 1, 1};
    return new PolicyRequest(image, model.skills().get((int) (seed % model.skills().size())), proprio,
        model.chunkLength(), sampling);
  }

  /** An engine that rewrites the logits the real engine produced, before the policy sees them. */
  private VlaPolicy tampered(Consumer<float[]> rewrite) {
    VlaEngine wrapper = new VlaEngine() {
      @Override
      public String name() {
        return "tampered";
      }

      @Override
      public KvCache prefill(PromptBatch batch, float[] logits, int maxNewTokens) {
        KvCache cache = engine.prefill(batch, logits, maxNewTokens);
        rewrite.accept(logits);
        return cache;
      }

      @Override
      public void decode(KvCache cache, long[] tokenIds, long[] positionIds, float[] attentionMask, float[] logits) {
        engine.decode(cache, tokenIds, positionIds, attentionMask, logits);
        rewrite.accept(logits);
      }

      @Override
      public void close() {}
    };
    return new VlaPolicy(model, wrapper);
  }

  @Test
  void aRequestIsCheckedOnceBeforeAnyComputeAndNamesWhatDoesNotFit() {
    PolicyRequest valid = request(1, SamplingParams.GREEDY);
    policy.check(valid);
    PolicyRequest unknownWords = new PolicyRequest(valid.image(), "juggle the red block", valid.proprio(),
        valid.chunkLength(), valid.sampling());
    IllegalArgumentException words = assertThrows(IllegalArgumentException.class, () -> policy.check(unknownWords));
    assertTrue(words.getMessage().startsWith("request 0: instruction \"juggle the red block\" has 1 word(s) the model"
        + " does not know"), words.getMessage());
    PolicyRequest tooLong = new PolicyRequest(valid.image(), "move ".repeat(model.text().maxTokens()), valid.proprio(),
        valid.chunkLength(), valid.sampling());
    IllegalArgumentException length = assertThrows(IllegalArgumentException.class, () -> policy.check(tooLong));
    assertTrue(length.getMessage().startsWith("request 0: instruction"), length.getMessage());
    // infer checks every request of a batch before it prefills any.
    IllegalArgumentException batch = assertThrows(IllegalArgumentException.class,
        () -> policy.infer(java.util.List.of(valid, unknownWords)));
    assertTrue(batch.getMessage().startsWith("request 1: "), batch.getMessage());
  }

  @Test
  void chunksHaveOneValidTokenPerDimensionAndStep() {
    PolicyResult result = policy.infer(request(1, SamplingParams.GREEDY));
    assertEquals(model.chunkLength(), result.actions().length);
    var tokenizer = model.actionProfile().tokenizer();
    for (int i = 0; i < result.tokens().length; i++) {
      assertTrue(tokenizer.allowedTokens(i % 7).contains(result.tokens()[i]));
    }
  }

  @Test
  void aTextTokenAsUnmaskedArgmaxStillYieldsValidActionTokens() {
    VlaPolicy biased = tampered(logits -> {
      for (int row = 0; row < logits.length / model.vocabSize(); row++) {
        logits[row * model.vocabSize() + 5] = 1e4f; // a text token far above every action token
      }
    });
    PolicyResult result = biased.infer(request(2, SamplingParams.GREEDY));
    PolicyResult clean = policy.infer(request(2, SamplingParams.GREEDY));
    assertArrayEquals(clean.tokens(), result.tokens(), "masking ignores everything outside the slice");
  }

  @Test
  void anAllMaskedSliceFailsClearly() {
    TokenRange slice = model.actionProfile().tokenizer().allowedTokens(0);
    VlaPolicy masked = tampered(logits -> {
      for (int row = 0; row < logits.length / model.vocabSize(); row++) {
        for (int t = slice.first(); t <= slice.last(); t++) {
          logits[row * model.vocabSize() + t] = Float.NEGATIVE_INFINITY;
        }
      }
    });
    DecodingException e = assertThrows(DecodingException.class, () -> masked.infer(request(3, SamplingParams.GREEDY)));
    assertTrue(e.getMessage().contains("probability 0"), e.getMessage());
  }

  @Test
  void nanLogitsFailInsteadOfProducingAnAction() {
    VlaPolicy broken = tampered(logits -> logits[100] = Float.NaN);
    assertThrows(DecodingException.class, () -> broken.infer(request(4, SamplingParams.GREEDY)));
  }

  private PolicyRequest withPrefix(PolicyRequest request, double[][] committed) {
    return new PolicyRequest(request.image(), request.instruction(), request.proprio(), request.chunkLength(),
        request.sampling(), committed);
  }

  @Test
  void aCommittedPrefixIsForcedAndTheChunkContinuesFromItsEnd() {
    PolicyRequest plain = request(31, SamplingParams.GREEDY);
    PolicyResult whole = policy.infer(plain);
    int dims = model.actionDimensions();
    // The greedy chunk's own first two steps, committed as values that tokenize to the tokens greedy
    // chose (decoding and re-encoding a bin is not the identity in OpenVLA's scheme), so the
    // continuation is the greedy chunk's last two steps exactly.
    double[][] ownSteps = new double[2][dims];
    for (int s = 0; s < 2; s++) {
      for (int d = 0; d < dims; d++) {
        ownSteps[s][d] = valueEncodedAs(d, whole.tokens()[s * dims + d]);
      }
    }
    PolicyResult continued = policy.infer(withPrefix(plain, ownSteps));
    assertEquals(model.chunkLength() - 2, continued.actions().length);
    assertArrayEquals(Arrays.copyOfRange(whole.tokens(), 2 * dims, whole.tokens().length), continued.tokens());
    for (int s = 0; s < continued.actions().length; s++) {
      assertArrayEquals(whole.actions()[s + 2], continued.actions()[s], "step " + (s + 2));
    }
    // Another commitment, the far end of every dimension's range, changes what follows: the later
    // steps are conditioned on it.
    double[][] elsewhere = new double[2][dims];
    for (int d = 0; d < dims; d++) {
      double high = model.actionProfile().dimensions().get(d).high();
      elsewhere[0][d] = high;
      elsewhere[1][d] = high;
    }
    PolicyResult conditioned = policy.infer(withPrefix(plain, elsewhere));
    assertFalse(Arrays.equals(continued.tokens(), conditioned.tokens()), "the continuation follows the prefix");
  }

  /** A value of dimension {@code d} that the model's tokenizer encodes as {@code token}. */
  private double valueEncodedAs(int d, int token) {
    var tokenizer = model.actionProfile().tokenizer();
    var dimension = model.actionProfile().dimensions().get(d);
    double span = dimension.high() - dimension.low();
    for (int i = 0; i <= 100_000; i++) {
      double value = dimension.low() - 0.1 * span + 1.2 * span * i / 100_000;
      if (tokenizer.encodeValue(d, value) == token) {
        return value;
      }
    }
    throw new AssertionError("no value of dimension " + d + " encodes as token " + token);
  }

  @Test
  void aCommittedPrefixThatCannotBeTokenizedOrLeavesNothingToDecodeIsRefused() {
    PolicyRequest plain = request(32, SamplingParams.GREEDY);
    int dims = model.actionDimensions();
    double[][] nan = new double[1][dims];
    nan[0][2] = Double.NaN;
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> policy.infer(withPrefix(plain, nan)));
    assertEquals("request 0: committed prefix step 0 dimension 2 (" + model.actionProfile().dimensions().get(2).name()
        + "): NaN (expected a finite value)", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> policy.infer(withPrefix(plain, new double[][] {{0, 0}})));
    assertEquals("request 0: committed prefix step 0: 2 values (expected " + dims + ", one per action dimension)",
        e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> policy.infer(withPrefix(plain, new double[model.chunkLength()][dims])));
    assertTrue(e.getMessage().contains("committed prefix of " + model.chunkLength() + " steps for a chunk of "
        + model.chunkLength() + " (expected fewer steps than the chunk"), e.getMessage());
  }

  @Test
  void aBatchGivesTheSameChunksAsOneAtATime() {
    List<PolicyRequest> requests = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      requests.add(request(10 + i, i % 2 == 0 ? SamplingParams.GREEDY : new SamplingParams(1.0, 40, 0.95, 77 + i)));
    }
    List<PolicyResult> batched = policy.infer(requests);
    for (int i = 0; i < requests.size(); i++) {
      assertArrayEquals(policy.infer(requests.get(i)).tokens(), batched.get(i).tokens(), "request " + i);
    }
  }

  @Test
  void observationsOfOneStreamDrawTheirOwnNoiseReproduciblyAloneOrBatched() {
    SamplingParams stream = new SamplingParams(1.5, 0, 0, 42);
    PolicyRequest first = request(20, stream.forObservation(1));
    PolicyRequest second = request(20, stream.forObservation(2)); // the same image, instruction and state
    int[] firstTokens = policy.infer(first).tokens();
    assertFalse(Arrays.equals(firstTokens, policy.infer(second).tokens()),
        "consecutive observations of a stream at temperature 1.5 sample different chunks");
    List<PolicyResult> batched = policy.infer(List.of(second, request(20, stream.forObservation(1))));
    assertArrayEquals(firstTokens, batched.get(1).tokens(), "the same (seed, sequence) reproduces, batched too");
  }

  @Test
  void inputsThatDoNotFitTheModelAreRejectedWithTheField() {
    PolicyRequest good = request(5, SamplingParams.GREEDY);
    IllegalArgumentException image = assertThrows(IllegalArgumentException.class, () -> policy.infer(
        new PolicyRequest(new byte[10], good.instruction(), good.proprio(), 1, SamplingParams.GREEDY)));
    assertTrue(image.getMessage().contains("image of 10 bytes"), image.getMessage());
    float[] nan = good.proprio().clone();
    nan[2] = Float.NaN;
    IllegalArgumentException proprio = assertThrows(IllegalArgumentException.class, () -> policy.infer(
        new PolicyRequest(good.image(), good.instruction(), nan, 1, SamplingParams.GREEDY)));
    assertTrue(proprio.getMessage().contains("proprio[2] (z): NaN"), proprio.getMessage());
    assertThrows(IllegalArgumentException.class, () -> policy.infer(
        new PolicyRequest(good.image(), "fly to the moon", good.proprio(), 1, SamplingParams.GREEDY)));
    assertThrows(IllegalArgumentException.class, () -> policy.infer(
        new PolicyRequest(good.image(), good.instruction(), good.proprio(), model.chunkLength() + 1, SamplingParams.GREEDY)));
  }
}

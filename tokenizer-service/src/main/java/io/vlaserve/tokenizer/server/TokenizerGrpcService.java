package io.vlaserve.tokenizer.server;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vlaserve.common.v1.ActionVector;
import io.vlaserve.tokenizer.ActionTokenizer;
import io.vlaserve.tokenizer.InvalidActionException;
import io.vlaserve.tokenizer.InvalidTokenException;
import io.vlaserve.tokenizer.ProfileRegistry;
import io.vlaserve.tokenizer.TokenizerException;
import io.vlaserve.tokenizer.v1.DecodeRequest;
import io.vlaserve.tokenizer.v1.DecodeResponse;
import io.vlaserve.tokenizer.v1.DescribeProfileRequest;
import io.vlaserve.tokenizer.v1.EncodeRequest;
import io.vlaserve.tokenizer.v1.EncodeResponse;
import io.vlaserve.tokenizer.v1.ListProfilesRequest;
import io.vlaserve.tokenizer.v1.ListProfilesResponse;
import io.vlaserve.tokenizer.v1.Profile;
import io.vlaserve.tokenizer.v1.TokenSequence;
import io.vlaserve.tokenizer.v1.TokenizeError;
import io.vlaserve.tokenizer.v1.TokenizeRequest;
import io.vlaserve.tokenizer.v1.TokenizeResponse;
import io.vlaserve.tokenizer.v1.TokenizerServiceGrpc;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.stereotype.Service;

/**
 * Thin gRPC adapter over the {@link ProfileRegistry}: validates requests, calls the library and maps
 * its errors to statuses through {@link TokenizerStatus}. Thread-safe: holds no per-call state.
 */
@Service
public class TokenizerGrpcService extends TokenizerServiceGrpc.TokenizerServiceImplBase {
  private final ProfileRegistry registry;
  private final MeterRegistry meters;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();

  public TokenizerGrpcService(ProfileRegistry registry, MeterRegistry meters) {
    this.registry = registry;
    this.meters = meters;
  }

  @Override
  public void listProfiles(ListProfilesRequest request, StreamObserver<ListProfilesResponse> responses) {
    ListProfilesResponse.Builder reply = ListProfilesResponse.newBuilder();
    for (String name : registry.names()) {
      reply.addProfiles(ProfileMessages.toMessage(registry.tokenizer(name)));
    }
    responses.onNext(reply.build());
    responses.onCompleted();
  }

  @Override
  public void describeProfile(DescribeProfileRequest request, StreamObserver<Profile> responses) {
    try {
      Profile profile = ProfileMessages.toMessage(tokenizer(request.getProfile()));
      responses.onNext(profile);
      responses.onCompleted();
    } catch (TokenizerException e) {
      responses.onError(TokenizerStatus.of(e).asRuntimeException());
    }
  }

  @Override
  public void encode(EncodeRequest request, StreamObserver<EncodeResponse> responses) {
    try {
      responses.onNext(encodeBatch(request.getProfile(), request.getActionsList()));
      responses.onCompleted();
    } catch (TokenizerException e) {
      count("errors", request.getProfile(), 1);
      responses.onError(TokenizerStatus.of(e).asRuntimeException());
    }
  }

  @Override
  public void decode(DecodeRequest request, StreamObserver<DecodeResponse> responses) {
    try {
      responses.onNext(decodeBatch(request.getProfile(), request.getSequencesList()));
      responses.onCompleted();
    } catch (TokenizerException e) {
      count("errors", request.getProfile(), 1);
      responses.onError(TokenizerStatus.of(e).asRuntimeException());
    }
  }

  /**
   * Answers each request in order. Inbound flow control follows the client's reading speed: the
   * next request is pulled only while the outbound side is ready, so a client that stops reading
   * cannot make the server buffer without bound.
   */
  @Override
  public StreamObserver<TokenizeRequest> tokenize(StreamObserver<TokenizeResponse> responses) {
    ServerCallStreamObserver<TokenizeResponse> call = (ServerCallStreamObserver<TokenizeResponse>) responses;
    call.disableAutoRequest();
    FlowControl flow = new FlowControl(call);
    call.setOnReadyHandler(flow::onReady);
    call.request(1);
    return new StreamObserver<>() {
      @Override
      public void onNext(TokenizeRequest request) {
        call.onNext(answer(request));
        flow.afterResponse();
      }

      @Override
      public void onError(Throwable t) {
        // The client went away; nothing is buffered on our side to lose.
      }

      @Override
      public void onCompleted() {
        call.onCompleted();
      }
    };
  }

  private static final class FlowControl {
    private final ServerCallStreamObserver<?> call;
    private boolean waitingForReady;

    FlowControl(ServerCallStreamObserver<?> call) {
      this.call = call;
    }

    synchronized void afterResponse() {
      if (call.isReady()) {
        call.request(1);
      } else {
        waitingForReady = true;
      }
    }

    synchronized void onReady() {
      if (waitingForReady && call.isReady()) {
        waitingForReady = false;
        call.request(1);
      }
    }
  }

  private TokenizeResponse answer(TokenizeRequest request) {
    TokenizeResponse.Builder reply = TokenizeResponse.newBuilder().setRequestId(request.getRequestId());
    try {
      switch (request.getPayloadCase()) {
        case ENCODE -> reply.setTokens(encodeBatch(request.getProfile(), List.of(request.getEncode())).getSequences(0));
        case DECODE -> reply.setAction(decodeBatch(request.getProfile(), List.of(request.getDecode())).getActions(0));
        case PAYLOAD_NOT_SET -> throw new TokenizerException(
            "request " + request.getRequestId() + ": no payload (expected: encode or decode)");
      }
    } catch (TokenizerException e) {
      count("errors", request.getProfile(), 1);
      Status status = TokenizerStatus.of(e);
      reply.setError(TokenizeError.newBuilder().setCode(status.getCode().value()).setMessage(status.getDescription()));
    }
    return reply.build();
  }

  private EncodeResponse encodeBatch(String profile, List<ActionVector> actions) {
    ActionTokenizer tokenizer = tokenizer(profile);
    int dims = tokenizer.dimensions();
    double[] values = new double[actions.size() * dims];
    for (int a = 0; a < actions.size(); a++) {
      ActionVector action = actions.get(a);
      if (action.getValuesCount() != dims) {
        throw new InvalidActionException(a, -1, Double.NaN, "actions[" + a + "]: " + action.getValuesCount()
            + " values (expected: " + dims + " for profile " + profile + ")");
      }
      for (int d = 0; d < dims; d++) {
        values[a * dims + d] = action.getValues(d);
      }
    }
    int[] tokens = new int[values.length];
    tokenizer.encode(values, 0, tokens, 0, actions.size());
    EncodeResponse.Builder reply = EncodeResponse.newBuilder();
    for (int a = 0; a < actions.size(); a++) {
      TokenSequence.Builder sequence = reply.addSequencesBuilder();
      for (int d = 0; d < dims; d++) {
        sequence.addTokens(tokens[a * dims + d]);
      }
    }
    count("encoded", profile, actions.size());
    return reply.build();
  }

  private DecodeResponse decodeBatch(String profile, List<TokenSequence> sequences) {
    ActionTokenizer tokenizer = tokenizer(profile);
    int dims = tokenizer.dimensions();
    int[] tokens = new int[sequences.size() * dims];
    for (int s = 0; s < sequences.size(); s++) {
      TokenSequence sequence = sequences.get(s);
      if (sequence.getTokensCount() != dims) {
        throw new InvalidTokenException(s, -1, 0, "sequences[" + s + "]: " + sequence.getTokensCount()
            + " tokens (expected: " + dims + " for profile " + profile + ")");
      }
      for (int d = 0; d < dims; d++) {
        tokens[s * dims + d] = sequence.getTokens(d);
      }
    }
    double[] values = new double[tokens.length];
    tokenizer.decode(tokens, 0, values, 0, sequences.size());
    DecodeResponse.Builder reply = DecodeResponse.newBuilder();
    for (int s = 0; s < sequences.size(); s++) {
      ActionVector.Builder action = reply.addActionsBuilder();
      for (int d = 0; d < dims; d++) {
        action.addValues(values[s * dims + d]);
      }
    }
    count("decoded", profile, sequences.size());
    return reply.build();
  }

  private ActionTokenizer tokenizer(String profile) {
    if (profile.isEmpty()) {
      throw new TokenizerException("profile: empty (expected: a profile name; known: "
          + String.join(", ", registry.names()) + ")");
    }
    return registry.tokenizer(profile);
  }

  private void count(String outcome, String profile, int amount) {
    // Unknown profile names would be unbounded label values: count those under one label.
    String label = registry.names().contains(profile) ? profile : "unknown";
    counters.computeIfAbsent(outcome + "/" + label, key -> Counter.builder("vla.tokenizer.actions")
            .description("Actions encoded, token sequences decoded, and requests rejected")
            .tag("outcome", outcome)
            .tag("profile", label)
            .register(meters))
        .increment(amount);
  }
}

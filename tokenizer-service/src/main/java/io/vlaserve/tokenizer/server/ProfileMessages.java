package io.vlaserve.tokenizer.server;

import io.vlaserve.tokenizer.ActionDimension;
import io.vlaserve.tokenizer.ActionTokenizer;
import io.vlaserve.tokenizer.TokenRange;
import io.vlaserve.tokenizer.v1.Dimension;
import io.vlaserve.tokenizer.v1.Profile;
import io.vlaserve.tokenizer.v1.Scheme;
import io.vlaserve.tokenizer.v1.TokenLayout;

/** Converts library profiles to their {@code vla.tokenizer.v1} messages. */
final class ProfileMessages {
  private ProfileMessages() {}

  static Profile toMessage(ActionTokenizer tokenizer) {
    var profile = tokenizer.profile();
    Profile.Builder builder = Profile.newBuilder()
        .setName(profile.name())
        .setScheme(switch (profile.scheme()) {
          case UNIFORM -> Scheme.SCHEME_UNIFORM;
          case OPENVLA -> Scheme.SCHEME_OPENVLA;
        })
        .setBins(profile.bins())
        .setTokenLayout(switch (profile.tokenLayout()) {
          case SHARED -> TokenLayout.TOKEN_LAYOUT_SHARED;
          case PER_DIMENSION -> TokenLayout.TOKEN_LAYOUT_PER_DIMENSION;
        })
        .setVocabBase(profile.vocabBase())
        .setVocabSize(profile.vocabSize())
        .setSource(profile.source());
    for (int d = 0; d < profile.dimensionCount(); d++) {
      ActionDimension dim = profile.dimensions().get(d);
      TokenRange range = tokenizer.allowedTokens(d);
      builder.addDimensions(Dimension.newBuilder()
          .setName(dim.name())
          .setLow(dim.low())
          .setHigh(dim.high())
          .setNormalized(dim.normalized())
          .setFirstToken(range.first())
          .setLastToken(range.last()));
    }
    return builder.build();
  }
}

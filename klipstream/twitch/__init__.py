"""Everything that talks to Twitch: VOD ids, endpoints, the GQL client, chat and video downloads, typed errors."""

"""What a person looks at or takes away: the HTML report, the clips, the plots."""

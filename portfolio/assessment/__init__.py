"""The Professional Development Analysis (seed 004): the owner rates themselves against
the items of a framework on a 1-4 scale (scale), invites 360° reviewers by one-time link
(reviews), and sees self against others per item, the development needs derived from
them and the training-needs grid of seed 000 (needs: the rules; report: the views).
The analyses themselves are in `analysis`."""

"""``wm-video eval``: how good a world model is, measured against the real game on held-out seeds.

Every figure compares imagined frames with what the built-in game shows from the same state under
the same actions (the scripted explorer's), on seeds never used in training. One function a measure:

* ``measures``: VAE reconstruction; teacher-forced next frame; autoregressive PSNR / SSIM by horizon
  beside the last real frame held still; controllability (true minus time-shuffled actions, Genie's
  delta-PSNR); revisiting after a 360-degree turn, against other places; speed of the engine;
* ``idm``: action following, by an inverse dynamics model trained here on real frame pairs;
* ``keys``: keys whose effect is local (number keys, placing and breaking blocks), real with and
  without the key against imagined;
* ``long_rollouts``: stability (frame statistics inside the real range) and sharpness;
* ``judged``: what a player sees, scored by the FrameJudge: world consistency and realism.

``suite.evaluate`` runs them in turn; ``report`` prints and compares reports, ``pictures`` draws them.
"""

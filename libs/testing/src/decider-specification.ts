/**
 * given / when / then for deciders (after EventSourcing.NodeJS's DeciderSpecification):
 *   spec.given([runPlanned]).when(command).then([passReady])
 */
export interface Decider<Command, Event, State> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

export interface Then<Event> {
  then(expected: Event[] | ((events: Event[]) => void)): void;
  thenThrows(check?: RegExp | ((error: unknown) => void)): void;
}

export function specificationFor<Command, Event, State>(decider: Decider<Command, Event, State>) {
  return {
    given(history: Event[]) {
      return {
        when(command: Command): Then<Event> {
          const act = () =>
            decider.decide(command, history.reduce(decider.evolve, decider.initialState()));
          return {
            then(expected) {
              const events = act();
              if (typeof expected === 'function') expected(events);
              else expect(events).toEqual(expected);
            },
            thenThrows(check) {
              let thrown: unknown;
              try {
                act();
              } catch (e) {
                thrown = e;
              }
              if (thrown === undefined) throw new Error('expected decide() to throw, it returned');
              if (check instanceof RegExp) expect(String((thrown as Error).message)).toMatch(check);
              else if (check) check(thrown);
            },
          };
        },
      };
    },
  };
}
